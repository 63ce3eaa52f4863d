// ByteSize: a count of bytes as a flag takes it, a plain number ("1048576") or a number with a
// binary unit ("64KiB", "256MiB", "1GiB", "2TiB"), so that `--max_value_bytes=256KiB` reads as
// what it means. Shared by the storage backends' flags and the server's.
#ifndef SESSIOND_STORAGE_BYTE_SIZE_H_
#define SESSIOND_STORAGE_BYTE_SIZE_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace sessiond::storage {

struct ByteSize {
  uint64_t bytes = 0;
};

// Abseil's flag hooks. Parsing accepts a non-negative integer optionally followed by B, KiB, MiB,
// GiB or TiB (case-sensitive, no space) and refuses decimal units (KB, MB...) and overflow,
// saying why in `error`. Unparsing writes the largest unit that divides the value exactly.
bool AbslParseFlag(absl::string_view text, ByteSize* size, std::string* error);
std::string AbslUnparseFlag(ByteSize size);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_BYTE_SIZE_H_
