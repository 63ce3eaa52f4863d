// ServerTest: a gtest fixture for end-to-end tests that talk to one real sessiond through the C++
// client. StartServer runs the binary (SessiondProcess) with the test's flags and connects a
// Client; the process is stopped when the test ends. Header-only: a test using it links
// sessiond_client beside sessiond_test_support.
#ifndef SESSIOND_TESTS_SUPPORT_SERVER_TEST_H_
#define SESSIOND_TESTS_SUPPORT_SERVER_TEST_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "sessiond/client.h"
#include "tests/support/sessiond_process.h"
#include "tests/support/status_matchers.h"

namespace sessiond::testing {

class ServerTest : public ::testing::Test {
 protected:
  // Starts sessiond with `flags` (plus --drain_grace=0s, so that stopping it is quick) and
  // connects client_ to it. Fails the test if it does not start.
  void StartServer(std::vector<std::string> flags = {}) {
    flags.push_back("--drain_grace=0s");
    absl::StatusOr<std::unique_ptr<SessiondProcess>> server = SessiondProcess::Start(flags);
    ASSERT_OK(server);
    server_ = *std::move(server);
    client_ = std::make_unique<Client>(server_->NewChannel());
  }

  std::unique_ptr<SessiondProcess> server_;
  std::unique_ptr<Client> client_;
};

}  // namespace sessiond::testing

#endif  // SESSIOND_TESTS_SUPPORT_SERVER_TEST_H_
