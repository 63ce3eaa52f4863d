#include "tests/support/command.h"

#include <sys/wait.h>

#include <cstdio>

namespace sessiond::testing {

CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* output = popen(command.c_str(), "r");
  if (output == nullptr) return result;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), output)) result.output.append(buffer, n);
  const int status = pclose(output);
  result.exit_code = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace sessiond::testing
