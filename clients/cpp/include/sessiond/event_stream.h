// EventStream: one WatchSessions stream (Client::WatchSessions), read event by event (the server
// sends events in batches; this unpacks them).
//
// Next blocks until the next event arrives or the stream ends; after it returns nullopt, Finish
// says why (OUT_OF_RANGE: the sequence asked for is not in the server's log, resynchronise;
// RESOURCE_EXHAUSTED: this reader fell behind; UNAVAILABLE: the server went away or is draining;
// CANCELLED after Cancel). To resume, open a new stream with from_sequence = the last sequence
// seen + 1. Next and Finish are for one thread; Cancel may be called from any thread.
#ifndef SESSIOND_CLIENTS_CPP_INCLUDE_SESSIOND_EVENT_STREAM_H_
#define SESSIOND_CLIENTS_CPP_INCLUDE_SESSIOND_EVENT_STREAM_H_

#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/sync_stream.h"
#include "sessiond/v1/session.grpc.pb.h"
#include "sessiond/v1/session.pb.h"

namespace sessiond {

class EventStream {
 public:
  // Takes over a started call: its context and reader.
  EventStream(std::unique_ptr<grpc::ClientContext> context,
              std::unique_ptr<grpc::ClientReader<v1::WatchSessionsResponse>> reader);
  // Cancels the stream if it has not ended.
  ~EventStream();

  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // The next event, or nullopt once the stream has ended (then call Finish).
  std::optional<v1::SessionEvent> Next();

  // Why the stream ended; call once, after Next returned nullopt.
  absl::Status Finish();

  // Ends the stream from any thread; a blocked Next returns nullopt.
  void Cancel();

 private:
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReader<v1::WatchSessionsResponse>> reader_;
  // The message being unpacked, and the index of the next event in it to return.
  v1::WatchSessionsResponse batch_;
  int next_in_batch_ = 0;
  bool finished_ = false;
};

}  // namespace sessiond

#endif  // SESSIOND_CLIENTS_CPP_INCLUDE_SESSIOND_EVENT_STREAM_H_
