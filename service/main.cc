// sessiond: flags -> Server::Options -> BuildAndStart -> wait for SIGTERM/SIGINT -> Drain.
#include <cstring>
#include <iostream>

#include "absl/synchronization/mutex.h"
#include "service/server.h"
#include "service/server_flags.h"
#include "service/signals.h"

int main(int argc, char** argv) {
  sessiond::service::BlockTerminationSignals();
  // Debian builds Abseil with assertions, which turns on Mutex deadlock detection: a graph update
  // on every lock. Our lock order is fixed by design (shards by address), so it only costs time.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::StatusOr<sessiond::service::Server::Options> options =
      sessiond::service::ServerOptionsFromCommandLine(argc, argv);
  if (!options.ok()) {
    std::cerr << "sessiond: " << options.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<std::unique_ptr<sessiond::service::Server>> server =
      sessiond::service::Server::BuildAndStart(*options);
  if (!server.ok()) {
    std::cerr << "sessiond: " << server.status().message() << "\n";
    return 1;
  }
  std::cerr << "sessiond: serving on port " << (*server)->port() << " (" << options->listen_address
            << ", store=" << options->store << ")" << std::endl;

  const int signal_number = sessiond::service::WaitForTerminationSignal();
  std::cerr << "sessiond: " << strsignal(signal_number) << "; draining" << std::endl;
  (*server)->Drain();
  std::cerr << "sessiond: stopped" << std::endl;
  return 0;
}
