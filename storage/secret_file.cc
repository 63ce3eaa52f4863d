#include "storage/secret_file.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace sessiond::storage {

absl::StatusOr<std::string> ReadSecretFile(const std::string& path, absl::string_view flag) {
  std::ifstream file(path);
  std::string line;
  if (!file || !std::getline(file, line)) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read a line from ", path));
  }
  return std::string(absl::StripTrailingAsciiWhitespace(line));
}

}  // namespace sessiond::storage
