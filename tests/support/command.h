// RunCommand: runs a shell command for a test (grpcurl, openssl) and collects what it prints.
#ifndef SESSIOND_TESTS_SUPPORT_COMMAND_H_
#define SESSIOND_TESTS_SUPPORT_COMMAND_H_

#include <string>

namespace sessiond::testing {

struct CommandResult {
  // The exit code (-1 if the command could not be run).
  int exit_code = -1;
  // Its standard output (and standard error, if the command redirects it there).
  std::string output;
};

// Runs `command` with /bin/sh and waits for it.
CommandResult RunCommand(const std::string& command);

}  // namespace sessiond::testing

#endif  // SESSIOND_TESTS_SUPPORT_COMMAND_H_
