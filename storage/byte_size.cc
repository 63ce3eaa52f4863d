#include "storage/byte_size.h"

#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sessiond::storage {
namespace {

struct Unit {
  absl::string_view suffix;
  int shift;
};

// Largest first, for unparsing.
constexpr Unit kUnits[] = {{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}};

}  // namespace

bool AbslParseFlag(absl::string_view text, ByteSize* size, std::string* error) {
  text = absl::StripAsciiWhitespace(text);
  size_t digits = 0;
  while (digits < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  const absl::string_view number = text.substr(0, digits);
  const absl::string_view suffix = text.substr(digits);
  uint64_t value = 0;
  if (number.empty() || !absl::SimpleAtoi(number, &value)) {
    *error = absl::StrCat("\"", text, "\" is not a byte count: write a whole number of bytes, ",
                          "optionally with a unit (KiB, MiB, GiB or TiB), such as 64MiB");
    return false;
  }
  int shift = 0;
  if (!suffix.empty()) {
    const Unit* unit = nullptr;
    for (const Unit& candidate : kUnits) {
      if (candidate.suffix == suffix) unit = &candidate;
    }
    if (unit == nullptr) {
      *error = absl::StrCat("\"", suffix, "\" is not a unit of bytes; use B, KiB, MiB, GiB or TiB");
      return false;
    }
    shift = unit->shift;
  }
  if (shift > 0 && value > (std::numeric_limits<uint64_t>::max() >> shift)) {
    *error = absl::StrCat("\"", text, "\" is too large");
    return false;
  }
  size->bytes = value << shift;
  return true;
}

std::string AbslUnparseFlag(ByteSize size) {
  for (const Unit& unit : kUnits) {
    const uint64_t factor = uint64_t{1} << unit.shift;
    if (size.bytes != 0 && unit.shift > 0 && size.bytes % factor == 0) {
      return absl::StrCat(size.bytes / factor, unit.suffix);
    }
  }
  return absl::StrCat(size.bytes);
}

}  // namespace sessiond::storage
