#include "service/watch_reactor.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "service/proto_convert.h"
#include "service/request_parsing.h"
#include "service/status_convert.h"
#include "sessiond/v1/session.pb.h"

namespace sessiond::service {

void WatchRegistry::EndAll() {
  std::vector<std::shared_ptr<WatchReactor>> reactors;
  {
    absl::MutexLock lock(&mu_);
    ended_ = true;
    for (WatchReactor* reactor : reactors_) {
      if (std::shared_ptr<WatchReactor> live = reactor->weak_from_this().lock()) {
        reactors.push_back(std::move(live));
      }
    }
  }
  for (const auto& reactor : reactors) {
    reactor->End(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "the server is shutting down; resume from your last sequence on "
                              "another replica or after the restart"));
  }
}

bool WatchRegistry::Add(WatchReactor* reactor) {
  absl::MutexLock lock(&mu_);
  if (ended_) return false;
  reactors_.insert(reactor);
  return true;
}

void WatchRegistry::Remove(WatchReactor* reactor) {
  absl::MutexLock lock(&mu_);
  reactors_.erase(reactor);
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchReactor::Start(const grpc::ByteBuffer& request,
                                                                storage::EventLog* log,
                                                                WatchRegistry* registry) {
  v1::WatchSessionsRequest parsed;
  absl::Status status = ParseRequest(request, &parsed);
  uint64_t from = log->next_sequence();
  if (status.ok() && parsed.has_from_sequence()) {
    from = std::max<uint64_t>(parsed.from_sequence(), 1);
    status = log->Read(from, 0).status();
  }
  std::shared_ptr<WatchReactor> reactor(new WatchReactor(log, registry, from));
  WatchReactor* raw = reactor.get();
  {
    absl::MutexLock lock(&raw->mu_);
    raw->self_ = std::move(reactor);
  }
  if (!status.ok()) {
    raw->End(ToGrpcStatus(status));
  } else if (!registry->Add(raw)) {
    raw->End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
  } else {
    raw->Pump();
  }
  return raw;
}

void WatchReactor::End(const grpc::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    finished_ = true;
  }
  Finish(status);
}

void WatchReactor::Pump() {
  absl::StatusOr<std::vector<storage::SessionEvent>> batch;
  grpc::ByteBuffer* message = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (finished_ || writing_) return;
    for (;;) {
      batch = log_->Read(next_, kMaxEvents);
      if (!batch.ok() || !batch->empty()) break;
      if (log_->WaitFor(next_, shared_from_this())) return;
    }
    if (batch.ok()) {
      v1::WatchSessionsResponse response;
      size_t bytes = 0;
      for (const storage::SessionEvent& event : *batch) {
        v1::SessionEvent converted;
        ToProto(event, &converted);
        bytes += converted.ByteSizeLong();
        if (response.events_size() > 0 && bytes > kMaxBytes) break;
        *response.add_events() = std::move(converted);
        next_ = event.sequence + 1;
      }
      pending_.Clear();
      SerializeResponse(response, &pending_);
      writing_ = true;
      // Nothing else touches pending_ while writing_: it stays put for gRPC until OnWriteDone.
      message = &pending_;
    }
  }
  if (!batch.ok()) {
    End(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                     absl::StrCat("this watcher fell behind the retained event log "
                                  "(--event_retention); ",
                                  batch.status().message())));
    return;
  }
  StartWrite(message);
}

void WatchReactor::OnWriteDone(bool ok) {
  if (!ok) {
    End(grpc::Status(grpc::StatusCode::CANCELLED, "the watcher went away"));
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
  }
  Pump();
}

void WatchReactor::OnDone() {
  registry_->Remove(this);
  log_->Cancel(this);
  std::shared_ptr<WatchReactor> last;
  absl::MutexLock lock(&mu_);
  last = std::move(self_);
  // `last` may be the final reference: it is released after the lock, as the scope ends in
  // reverse order of declaration.
}

}  // namespace sessiond::service
