// sessiond: flags -> Server::Options -> BuildAndStart -> wait for SIGTERM/SIGINT -> Drain -> exit.
// `sessiond health ...` checks a running server instead (health_command.h).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "service/health_command.h"
#include "service/logging.h"
#include "service/ops_flags.h"
#include "service/server.h"
#include "service/server_flags.h"
#include "service/signals.h"

int main(int argc, char** argv) {
  using sessiond::service::Log;
  using sessiond::service::LogLevel;
  if (argc > 1 && std::strcmp(argv[1], "health") == 0) {
    return sessiond::service::RunHealthCommand(argc - 1, argv + 1);
  }
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
  sessiond::service::LimitMallocArenasFromFlags();
  if (absl::Status status = sessiond::service::InitLogging(sessiond::service::LogFormatFlag());
      !status.ok()) {
    std::cerr << "sessiond: " << status.message() << "\n";
    return 2;
  }
  absl::StatusOr<std::unique_ptr<sessiond::service::Metrics>> metrics =
      sessiond::service::StartMetricsFromFlags(options->store);
  if (!metrics.ok()) {
    Log(LogLevel::kError, metrics.status().message());
    return 1;
  }
  options->metrics = metrics->get();
  absl::StatusOr<std::unique_ptr<sessiond::service::Server>> server =
      sessiond::service::Server::BuildAndStart(*options);
  if (!server.ok()) {
    Log(LogLevel::kError, server.status().message());
    return 1;
  }
  Log(LogLevel::kInfo, absl::StrCat("serving on port ", (*server)->port()),
      {{"listen", options->listen_address},
       {"store", options->store},
       {"metrics_port", *metrics == nullptr ? "" : absl::StrCat((*metrics)->port())}});

  const int signal_number = sessiond::service::WaitForTerminationSignal();
  Log(LogLevel::kInfo, absl::StrCat(strsignal(signal_number), "; draining"));
  (*server)->Drain();
  server->reset();
  Log(LogLevel::kInfo, "stopped");
  // Exits without destroying `metrics`: civetweb's stop (in prometheus::Exposer's destructor) waits
  // for its listening thread's 2 s poll and for the scrape connection it is serving, so a scraper
  // could hold up the exit. The store is closed and every log line written, nothing is left to do.
  std::cout.flush();
  std::fflush(nullptr);
  std::_Exit(0);
}
