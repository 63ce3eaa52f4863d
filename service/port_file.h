// WritePortFile: tells scripts and tests which port a server bound, through a file.
#ifndef SESSIOND_SERVICE_PORT_FILE_H_
#define SESSIOND_SERVICE_PORT_FILE_H_

#include <string>

#include "absl/status/status.h"

namespace sessiond::service {

// Writes `port` and a newline to `path`, atomically: the file is written aside and renamed, so a
// reader never sees it partial. UNAVAILABLE if it cannot be written.
absl::Status WritePortFile(const std::string& path, int port);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_PORT_FILE_H_
