// Value: the typed value of one session entry, as the storage layer holds it.
//
// One of UTF-8 text, opaque bytes, int64, double or bool; the same five types the API carries, so a
// number written by one client language reads back as the same number in every other.
#ifndef SESSIOND_STORAGE_VALUE_H_
#define SESSIOND_STORAGE_VALUE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

namespace sessiond::storage {

// Opaque bytes; a distinct type so that text and bytes stay distinguishable.
struct Bytes {
  std::string data;
  friend bool operator==(const Bytes&, const Bytes&) = default;
};

using Value = std::variant<std::string, Bytes, int64_t, double, bool>;

// The bytes a value counts against the session size limit: its length for text and bytes, 8 for
// numbers, 1 for bool.
size_t ValueSize(const Value& value);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_VALUE_H_
