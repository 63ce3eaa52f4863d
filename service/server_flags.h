// The sessiond command line: flags, each also settable as the environment variable
// SESSIOND_<FLAG NAME IN CAPITALS> (a command-line flag wins over the environment).
#ifndef SESSIOND_SERVICE_SERVER_FLAGS_H_
#define SESSIOND_SERVICE_SERVER_FLAGS_H_

#include "absl/status/statusor.h"
#include "service/server.h"

namespace sessiond::service {

// Applies SESSIOND_* environment variables, then parses argv (exiting with usage on --help or an
// unknown flag), and returns the resulting options. INVALID_ARGUMENT for a bad environment value
// or an inconsistent combination (for example a default timeout over its maximum).
absl::StatusOr<Server::Options> ServerOptionsFromCommandLine(int argc, char** argv);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_SERVER_FLAGS_H_
