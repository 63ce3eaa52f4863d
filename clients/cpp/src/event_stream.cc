#include "sessiond/event_stream.h"

#include <utility>

#include "sessiond/status.h"

namespace sessiond {

EventStream::EventStream(std::unique_ptr<grpc::ClientContext> context,
                         std::unique_ptr<grpc::ClientReader<v1::WatchSessionsResponse>> reader)
    : context_(std::move(context)), reader_(std::move(reader)) {}

EventStream::~EventStream() {
  if (finished_) return;
  // gRPC requires Finish before the reader goes; cancelling first makes it return at once.
  context_->TryCancel();
  v1::WatchSessionsResponse ignored;
  while (reader_->Read(&ignored)) {
  }
  static_cast<void>(reader_->Finish());
}

std::optional<v1::SessionEvent> EventStream::Next() {
  while (next_in_batch_ >= batch_.events_size()) {
    if (!reader_->Read(&batch_)) return std::nullopt;
    next_in_batch_ = 0;
  }
  return std::move(*batch_.mutable_events(next_in_batch_++));
}

absl::Status EventStream::Finish() {
  finished_ = true;
  return FromGrpcStatus(reader_->Finish());
}

void EventStream::Cancel() { context_->TryCancel(); }

}  // namespace sessiond
