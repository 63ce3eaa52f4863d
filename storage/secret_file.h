// Reading a secret (a password) from a file named by a flag, so that it need not appear on a
// command line other users can see. The secret itself never appears in an error.
#ifndef SESSIOND_STORAGE_SECRET_FILE_H_
#define SESSIOND_STORAGE_SECRET_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sessiond::storage {

// The first line of the file at `path`, without trailing whitespace. INVALID_ARGUMENT naming
// `flag` (say "--redis_password_file") and the path if it cannot be read.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path, absl::string_view flag);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_SECRET_FILE_H_
