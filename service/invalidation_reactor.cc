#include "service/invalidation_reactor.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "service/id_hash.h"
#include "service/request_parsing.h"
#include "sessiond/v1/session.pb.h"
#include "storage/tenant_store.h"

namespace sessiond::service {
namespace {

using Kind = storage::SessionEvent::Kind;

// What a near cache must learn of `event`, if anything: not creations (nothing cached yet) nor
// touches (the entries and id are unchanged).
std::optional<v1::Invalidation> InvalidationOf(const storage::SessionEvent& event) {
  if (event.kind == Kind::kCreated || event.kind == Kind::kTouched) return std::nullopt;
  v1::Invalidation invalidation;
  invalidation.set_id_hash(IdHash(event.id));
  invalidation.set_version(event.version);
  invalidation.set_gone(event.kind != Kind::kUpdated);
  return invalidation;
}

}  // namespace

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* InvalidationReactor::Start(
    storage::EventLog* log, InvalidationHub* hub, std::string tenant_prefix) {
  std::shared_ptr<InvalidationReactor> reactor(
      new InvalidationReactor(log, hub, std::move(tenant_prefix), log->next_sequence()));
  InvalidationReactor* raw = reactor.get();
  {
    absl::MutexLock lock(&raw->mu_);
    raw->self_ = reactor;
  }
  if (!hub->Add(std::move(reactor))) {
    raw->End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
    return raw;
  }
  raw->StartRead(&raw->read_);
  raw->Pump();
  return raw;
}

void InvalidationReactor::End(const grpc::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    finished_ = true;
  }
  Finish(status);
}

void InvalidationReactor::EndBehind(absl::Duration lease) {
  End(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                   absl::StrCat("this near cache did not take its invalidations within one lease (",
                                absl::FormatDuration(lease),
                                ", --near_cache_lease); empty the cache and reconnect")));
}

void InvalidationReactor::EndShutdown() {
  End(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                   "the server is shutting down; empty the cache and reconnect"));
}

void InvalidationReactor::OnReadDone(bool ok) {
  if (!ok) {
    // The client closed its side: it wants no more invalidations.
    End(grpc::Status::OK);
    return;
  }
  TakePing();
  Pump();
}

void InvalidationReactor::TakePing() {
  v1::LeaseRequest request;
  absl::Status status = ParseRequest(read_, &request);
  {
    absl::MutexLock lock(&mu_);
    if (status.ok() && request.ping() <= last_ping_) {
      status = absl::InvalidArgumentError(
          request.ping() == 0 ? std::string("ping: 0; pings start at 1")
                              : absl::StrCat("ping: ", request.ping(),
                                             " is not above the previous ping ", last_ping_));
    }
    if (status.ok()) {
      last_ping_ = ping_ = request.ping();
      ping_barrier_ = log_->committed_until();
    }
  }
  if (!status.ok()) {
    End(grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message())));
    return;
  }
  StartRead(&read_);
}

void InvalidationReactor::Pump() {
  absl::Status behind;
  bool caught_up = false;
  grpc::ByteBuffer* message = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (finished_ || writing_) return;
    v1::InvalidationsResponse response;
    for (;;) {
      absl::StatusOr<std::vector<storage::SessionEvent>> batch =
          log_->Read(next_, kMaxInvalidations - response.invalidations_size());
      if (!batch.ok()) {
        behind = batch.status();
        break;
      }
      for (storage::SessionEvent& event : *batch) {
        next_ = event.sequence + 1;
        if (!tenant_prefix_.empty() && !storage::ToTenantEvent(tenant_prefix_, &event)) continue;
        if (auto invalidation = InvalidationOf(event)) {
          *response.add_invalidations() = *std::move(invalidation);
        }
      }
      const bool full = response.invalidations_size() >= kMaxInvalidations;
      if (batch->empty() || full) break;
    }
    if (behind.ok()) {
      if (ping_ != 0 && next_ >= ping_barrier_) {
        response.set_granted_ping(std::exchange(ping_, 0));
        *response.mutable_lease() = google::protobuf::util::TimeUtil::NanosecondsToDuration(
            absl::ToInt64Nanoseconds(hub_->lease()));
      }
      if (response.invalidations_size() > 0 || response.granted_ping() != 0) {
        pending_.Clear();
        SerializeResponse(response, &pending_);
        written_next_ = next_;
        writing_ = true;
        // Nothing else touches pending_ while writing_: it stays put for gRPC until OnWriteDone.
        message = &pending_;
      } else {
        // Nothing due: every event so far is sent or was not this stream's.
        sent_through_.store(next_, std::memory_order_release);
        caught_up = true;
      }
    }
  }
  if (!behind.ok()) {
    End(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                     absl::StrCat("this near cache fell behind the retained event log "
                                  "(--event_retention); empty the cache and reconnect: ",
                                  behind.message())));
    return;
  }
  if (message != nullptr) {
    StartWrite(message);
    return;
  }
  if (caught_up) {
    hub_->Progress();
    // Woken by the next event; if one arrived meanwhile, read it now.
    uint64_t from;
    {
      absl::MutexLock lock(&mu_);
      from = next_;
    }
    if (!log_->WaitFor(from, shared_from_this())) Pump();
  }
}

void InvalidationReactor::OnWriteDone(bool ok) {
  if (!ok) {
    End(grpc::Status(grpc::StatusCode::CANCELLED, "the near cache went away"));
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    sent_through_.store(written_next_, std::memory_order_release);
  }
  hub_->Progress();
  Pump();
}

void InvalidationReactor::OnDone() {
  hub_->Remove(this);
  log_->Cancel(this);
  std::shared_ptr<InvalidationReactor> last;
  absl::MutexLock lock(&mu_);
  last = std::move(self_);
}

}  // namespace sessiond::service
