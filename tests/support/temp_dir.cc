#include "tests/support/temp_dir.h"

#include <stdlib.h>

#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace sessiond::testing {

TempDir::TempDir(absl::string_view prefix) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / absl::StrCat(prefix, "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("TempDir: mkdtemp");
    std::abort();
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::File(absl::string_view name) const { return absl::StrCat(path_, "/", name); }

}  // namespace sessiond::testing
