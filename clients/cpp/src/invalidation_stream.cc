#include "invalidation_stream.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <random>

#include "absl/time/time.h"

namespace sessiond::internal {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kFirstBackoff(50);
constexpr milliseconds kMaxBackoff(5000);
// Pings not granted yet that a stream remembers (a stalled server grants none); older ones are
// forgotten, and a late grant of one of them is ignored.
constexpr size_t kMaxPendingPings = 1024;

}  // namespace

InvalidationStream::InvalidationStream(v1::SessionService::Stub* stub, std::string bearer_token,
                                       NearCache* cache)
    : stub_(stub),
      authorization_(bearer_token.empty() ? "" : "Bearer " + bearer_token),
      cache_(cache),
      writer_([this] { Run(); }) {}

InvalidationStream::~InvalidationStream() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  writer_.join();
}

void InvalidationStream::Run() {
  std::minstd_rand random(std::random_device{}());
  milliseconds backoff = kFirstBackoff;
  while (true) {
    grpc::ClientContext context;
    if (!authorization_.empty()) context.AddMetadata("authorization", authorization_);
    {
      absl::MutexLock lock(&mutex_);
      if (stopping_) return;
      context_ = &context;
      broken_ = false;
      granted_ = false;
      pings_.clear();
    }
    std::unique_ptr<Stream> stream = stub_->WatchInvalidations(&context);
    std::thread reader([this, &stream] { Read(*stream); });
    Ping(*stream);
    context.TryCancel();
    reader.join();
    static_cast<void>(stream->Finish());
    bool granted;
    {
      absl::MutexLock lock(&mutex_);
      context_ = nullptr;
      granted = granted_;
    }
    cache_->Reset();
    if (granted) backoff = kFirstBackoff;
    const milliseconds pause =
        backoff / 2 + milliseconds(std::uniform_int_distribution<int64_t>(
                          0, std::max<int64_t>(backoff.count() / 2, 1))(random));
    absl::MutexLock lock(&mutex_);
    if (mutex_.AwaitWithTimeout(absl::Condition(&stopping_), absl::FromChrono(pause))) return;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

void InvalidationStream::Ping(Stream& stream) {
  uint64_t ping = 0;
  const auto stopping_or_broken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return stopping_ || broken_;
  };
  while (true) {
    std::chrono::steady_clock::duration interval;
    {
      absl::MutexLock lock(&mutex_);
      if (stopping_or_broken()) return;
      if (pings_.size() == kMaxPendingPings) pings_.pop_front();
      pings_.emplace_back(++ping, std::chrono::steady_clock::now());
      interval = lease_ / 4;
    }
    v1::LeaseRequest request;
    request.set_ping(ping);
    if (!stream.Write(request)) return;
    absl::MutexLock lock(&mutex_);
    mutex_.AwaitWithTimeout(absl::Condition(&stopping_or_broken), absl::FromChrono(interval));
  }
}

void InvalidationStream::Read(Stream& stream) {
  v1::InvalidationsResponse response;
  while (stream.Read(&response)) {
    for (const v1::Invalidation& invalidation : response.invalidations()) {
      cache_->Apply(invalidation);
    }
    if (response.granted_ping() == 0) continue;
    std::optional<SteadyTime> until;
    {
      absl::MutexLock lock(&mutex_);
      const auto lease = std::chrono::seconds(response.lease().seconds()) +
                         std::chrono::nanoseconds(response.lease().nanos());
      if (lease > lease.zero()) lease_ = lease;
      while (!pings_.empty() && pings_.front().first < response.granted_ping()) {
        pings_.pop_front();
      }
      if (!pings_.empty() && pings_.front().first == response.granted_ping()) {
        until = pings_.front().second + lease_;
        pings_.pop_front();
        granted_ = true;
      }
    }
    if (until.has_value()) cache_->GrantLease(*until);
  }
  absl::MutexLock lock(&mutex_);
  broken_ = true;
}

}  // namespace sessiond::internal
