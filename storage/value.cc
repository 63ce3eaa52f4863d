#include "storage/value.h"

#include <cstring>

#include "absl/base/internal/endian.h"

namespace sessiond::storage {
namespace {

struct SizeOf {
  size_t operator()(const std::string& text) const { return text.size(); }
  size_t operator()(const Bytes& bytes) const { return bytes.data.size(); }
  size_t operator()(int64_t) const { return sizeof(int64_t); }
  size_t operator()(double) const { return sizeof(double); }
  size_t operator()(bool) const { return 1; }
  size_t operator()(const Json& json) const { return json.text.size(); }
};

struct PayloadWriter {
  std::string* out;
  void operator()(const std::string& text) const { out->append(text); }
  void operator()(const Bytes& bytes) const { out->append(bytes.data); }
  void operator()(int64_t number) const { AppendWord(static_cast<uint64_t>(number)); }
  void operator()(double number) const {
    uint64_t bits;
    std::memcpy(&bits, &number, sizeof(bits));
    AppendWord(bits);
  }
  void operator()(bool flag) const { out->push_back(flag ? 1 : 0); }
  void operator()(const Json& json) const { out->append(json.text); }

  void AppendWord(uint64_t word) const {
    char bytes[sizeof(word)];
    absl::little_endian::Store64(bytes, word);
    out->append(bytes, sizeof(bytes));
  }
};

}  // namespace

size_t ValueSize(const Value& value) { return std::visit(SizeOf{}, value); }

ValueKind KindOf(const Value& value) { return static_cast<ValueKind>(value.index()); }

bool PayloadFits(ValueKind kind, size_t size) {
  switch (kind) {
    case ValueKind::kString:
    case ValueKind::kBytes:
    case ValueKind::kJson:
      return true;
    case ValueKind::kInt64:
    case ValueKind::kDouble:
      return size == 8;
    case ValueKind::kBool:
      return size == 1;
  }
  return false;
}

void AppendPayload(const Value& value, std::string* out) { std::visit(PayloadWriter{out}, value); }

int64_t ValueView::int64() const {
  return static_cast<int64_t>(absl::little_endian::Load64(payload_.data()));
}

double ValueView::number() const {
  const uint64_t bits = absl::little_endian::Load64(payload_.data());
  double number;
  std::memcpy(&number, &bits, sizeof(number));
  return number;
}

Value ValueView::ToValue() const {
  switch (kind_) {
    case ValueKind::kString:
      return std::string(payload_);
    case ValueKind::kBytes:
      return Bytes{std::string(payload_)};
    case ValueKind::kInt64:
      return int64();
    case ValueKind::kDouble:
      return number();
    case ValueKind::kJson:
      return Json{std::string(payload_)};
    case ValueKind::kBool:
      break;
  }
  return flag();
}

}  // namespace sessiond::storage
