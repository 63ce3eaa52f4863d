#include "storage/value.h"

namespace sessiond::storage {
namespace {

struct SizeOf {
  size_t operator()(const std::string& text) const { return text.size(); }
  size_t operator()(const Bytes& bytes) const { return bytes.data.size(); }
  size_t operator()(int64_t) const { return sizeof(int64_t); }
  size_t operator()(double) const { return sizeof(double); }
  size_t operator()(bool) const { return 1; }
};

}  // namespace

size_t ValueSize(const Value& value) { return std::visit(SizeOf{}, value); }

}  // namespace sessiond::storage
