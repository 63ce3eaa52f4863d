// echo_server: serves sessiond.bench.EchoService until SIGTERM or SIGINT. For the benchmark only.
#include <iostream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "bench/echo/echo_async_server.h"
#include "bench/echo/echo_service.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "service/port_file.h"
#include "service/signals.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "host:port to serve on; port 0 picks a free one");
ABSL_FLAG(std::string, port_file, "", "if set, the bound port is written there once serving");
ABSL_FLAG(int, async_threads, 0,
          "0 serves on gRPC's callback API, as sessiond does; N > 0 on the completion-queue async "
          "API with N polling threads that answer inline");

int main(int argc, char** argv) {
  sessiond::service::BlockTerminationSignals();
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);  // as sessiond does
  absl::SetProgramUsageMessage("serves sessiond.bench.EchoService, the empty-rpc baseline");
  absl::ParseCommandLine(argc, argv);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), grpc::InsecureServerCredentials(), &port);
  const int async_threads = absl::GetFlag(FLAGS_async_threads);
  sessiond::bench::EchoServiceImpl callback_service;
  std::unique_ptr<sessiond::bench::AsyncEchoServer> async_server;
  if (async_threads > 0) {
    async_server = std::make_unique<sessiond::bench::AsyncEchoServer>(builder, async_threads);
  } else {
    builder.RegisterService(&callback_service);
  }
  // The same server settings as sessiond's (service/server.cc), so the ceiling stays a ceiling.
  builder.AddChannelArgument(GRPC_ARG_ENABLE_CHANNELZ, 0);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "echo_server: cannot listen on " << absl::GetFlag(FLAGS_listen) << "\n";
    return 1;
  }
  if (async_server != nullptr) async_server->Run(/*calls_per_thread=*/64);
  if (const std::string path = absl::GetFlag(FLAGS_port_file); !path.empty()) {
    if (absl::Status written = sessiond::service::WritePortFile(path, port); !written.ok()) {
      std::cerr << "echo_server: " << written.message() << "\n";
      return 1;
    }
  }
  sessiond::service::WaitForTerminationSignal();
  server->Shutdown();
  if (async_server != nullptr) async_server->Shutdown();
  return 0;
}
