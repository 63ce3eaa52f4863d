// Value: the typed value of one session entry, as the storage layer takes it in; ValueView: one
// read in place from a stored session.
//
// One of UTF-8 text, opaque bytes, int64, double, bool or a JSON document; the same six types the
// API carries, so a number written by one client language reads back as the same number in every
// other, and a document as a document.
#ifndef SESSIOND_STORAGE_VALUE_H_
#define SESSIOND_STORAGE_VALUE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "absl/strings/string_view.h"

namespace sessiond::storage {

// Opaque bytes; a distinct type so that text and bytes stay distinguishable.
struct Bytes {
  std::string data;
  friend bool operator==(const Bytes&, const Bytes&) = default;
};

// A JSON document as UTF-8 text. The store keeps the text as it came and never parses it; clients
// do. A distinct type so that a document and a string that looks like one stay distinguishable.
struct Json {
  std::string text;
  friend bool operator==(const Json&, const Json&) = default;
};

using Value = std::variant<std::string, Bytes, int64_t, double, bool, Json>;

// The type of a value; the numbers are part of the stored format.
enum class ValueKind : uint8_t {
  kString = 0,
  kBytes = 1,
  kInt64 = 2,
  kDouble = 3,
  kBool = 4,
  kJson = 5,
};

// The kind with the highest number: stored kind bytes above it are corrupt.
inline constexpr ValueKind kLastValueKind = ValueKind::kJson;

// The bytes a value counts against the session size limit: its length for text, bytes and JSON, 8
// for numbers, 1 for bool. It is also the size of its stored payload.
size_t ValueSize(const Value& value);

ValueKind KindOf(const Value& value);

// Whether `size` is a valid payload size for `kind`: any for text, bytes and JSON, 8 for
// numbers, 1 for bool. For decoding stored values.
bool PayloadFits(ValueKind kind, size_t size);

// Appends the stored payload of `value`: text, bytes and JSON as they are, numbers as 8
// little-endian bytes (doubles bit for bit), bool as one byte.
void AppendPayload(const Value& value, std::string* out);

// A value read in place from stored bytes. Valid while the bytes it views are; cheap to copy.
class ValueView {
 public:
  // `payload` as AppendPayload wrote it for a value of `kind`.
  ValueView(ValueKind kind, absl::string_view payload) : kind_(kind), payload_(payload) {}

  ValueKind kind() const { return kind_; }
  // The text, bytes or JSON text (kString, kBytes, kJson).
  absl::string_view data() const { return payload_; }
  // The number or flag (kInt64, kDouble, kBool).
  int64_t int64() const;
  double number() const;
  bool flag() const { return payload_[0] != 0; }

  // An owning copy.
  Value ToValue() const;

 private:
  ValueKind kind_;
  absl::string_view payload_;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_VALUE_H_
