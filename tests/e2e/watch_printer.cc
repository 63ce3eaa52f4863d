// watch_printer: a WatchSessions client as a process of its own, for the test that kills a watcher
// mid-stream. Usage: watch_printer <address> <from_sequence>. Prints one line per event,
// "<sequence> <kind> <id>", flushed as it arrives; exits 0 when the stream ends.
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "sessiond/client.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <address> <from_sequence>\n", argv[0]);
    return 2;
  }
  sessiond::Client client(grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials()));
  sessiond::v1::WatchSessionsRequest request;
  request.set_from_sequence(std::strtoull(argv[2], nullptr, 10));
  std::unique_ptr<sessiond::EventStream> stream = client.WatchSessions(request);
  while (std::optional<sessiond::v1::SessionEvent> event = stream->Next()) {
    std::printf("%llu %s %s\n", static_cast<unsigned long long>(event->sequence()),
                sessiond::v1::SessionEvent::Kind_Name(event->kind()).c_str(), event->id().c_str());
    std::fflush(stdout);
  }
  std::fprintf(stderr, "watch_printer: %s\n", stream->Finish().ToString().c_str());
  return 0;
}
