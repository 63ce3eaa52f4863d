// TempDir: a new, empty directory under the system's temporary directory for one test, removed with
// everything in it when the TempDir is destroyed.
#ifndef SESSIOND_TESTS_SUPPORT_TEMP_DIR_H_
#define SESSIOND_TESTS_SUPPORT_TEMP_DIR_H_

#include <string>

#include "absl/strings/string_view.h"

namespace sessiond::testing {

class TempDir {
 public:
  // Creates `<tmp>/<prefix>-XXXXXX`; aborts the test binary if it cannot (nothing can run without).
  explicit TempDir(absl::string_view prefix = "sessiond-test");
  ~TempDir();

  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // `path()/name`.
  std::string File(absl::string_view name) const;

 private:
  std::string path_;
};

}  // namespace sessiond::testing

#endif  // SESSIOND_TESTS_SUPPORT_TEMP_DIR_H_
