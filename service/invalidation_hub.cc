#include "service/invalidation_hub.h"

#include <algorithm>
#include <utility>

namespace sessiond::service {

InvalidationHub::InvalidationHub(absl::Duration lease)
    : lease_(lease), deadline_thread_([this] { EnforceDeadlines(); }) {}

InvalidationHub::~InvalidationHub() {
  std::vector<Waiter> left;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    left = std::move(waiters_);
    waiters_.clear();
  }
  deadline_thread_.join();
  RunAll(std::move(left));
}

bool InvalidationHub::Add(std::shared_ptr<Stream> stream) {
  absl::MutexLock lock(&mu_);
  if (ended_) return false;
  streams_.push_back(std::move(stream));
  return true;
}

void InvalidationHub::Remove(const Stream* stream) {
  std::vector<Waiter> done;
  std::shared_ptr<Stream> removed;  // released after the lock
  {
    absl::MutexLock lock(&mu_);
    auto it = std::find_if(streams_.begin(), streams_.end(),
                           [stream](const auto& candidate) { return candidate.get() == stream; });
    if (it == streams_.end()) return;
    removed = std::move(*it);
    streams_.erase(it);
    done = TakeDoneLocked();
  }
  RunAll(std::move(done));
}

void InvalidationHub::AfterSent(uint64_t barrier, absl::AnyInvocable<void()> reply) {
  {
    absl::MutexLock lock(&mu_);
    if (SlowestLocked() < barrier) {
      waiters_.push_back(Waiter{barrier, absl::Now() + lease_, std::move(reply)});
      return;
    }
  }
  reply();
}

void InvalidationHub::Progress() {
  std::vector<Waiter> done;
  {
    absl::MutexLock lock(&mu_);
    if (waiters_.empty()) return;
    done = TakeDoneLocked();
  }
  RunAll(std::move(done));
}

void InvalidationHub::EndAll() {
  std::vector<std::shared_ptr<Stream>> streams;
  {
    absl::MutexLock lock(&mu_);
    ended_ = true;
    streams = streams_;
  }
  for (const auto& stream : streams) stream->EndShutdown();
}

uint64_t InvalidationHub::SlowestLocked() const {
  uint64_t slowest = UINT64_MAX;
  for (const auto& stream : streams_) slowest = std::min(slowest, stream->sent_through());
  return slowest;
}

std::vector<InvalidationHub::Waiter> InvalidationHub::TakeDoneLocked() {
  const uint64_t slowest = SlowestLocked();
  std::vector<Waiter> done;
  auto caught_up = [slowest](const Waiter& waiter) { return waiter.barrier <= slowest; };
  for (Waiter& waiter : waiters_) {
    if (caught_up(waiter)) done.push_back(std::move(waiter));
  }
  std::erase_if(waiters_, caught_up);
  return done;
}

void InvalidationHub::EnforceDeadlines() {
  for (;;) {
    std::vector<Waiter> expired;
    std::vector<std::shared_ptr<Stream>> behind;
    {
      absl::MutexLock lock(&mu_);
      // Sleeps while nothing waits, else until the oldest waiter's deadline (later waiters have
      // later deadlines; one that was answered meanwhile costs a needless wake-up).
      while (!stopping_ && (waiters_.empty() || waiters_.front().deadline > absl::Now())) {
        if (waiters_.empty()) {
          mu_.Await(absl::Condition(
              +[](InvalidationHub* hub) ABSL_EXCLUSIVE_LOCKS_REQUIRED(hub->mu_) {
                return hub->stopping_ || !hub->waiters_.empty();
              },
              this));
        } else {
          mu_.AwaitWithDeadline(absl::Condition(&stopping_), waiters_.front().deadline);
        }
      }
      if (stopping_) return;
      const absl::Time now = absl::Now();
      uint64_t highest = 0;
      while (!waiters_.empty() && waiters_.front().deadline <= now) {
        highest = std::max(highest, waiters_.front().barrier);
        expired.push_back(std::move(waiters_.front()));
        waiters_.erase(waiters_.begin());
      }
      // The streams that kept those replies waiting a whole lease are dropped: their clients have
      // had no lease covering these events since.
      for (auto it = streams_.begin(); it != streams_.end();) {
        if ((*it)->sent_through() < highest) {
          behind.push_back(std::move(*it));
          it = streams_.erase(it);
        } else {
          ++it;
        }
      }
      std::vector<Waiter> done = TakeDoneLocked();
      std::move(done.begin(), done.end(), std::back_inserter(expired));
    }
    for (const auto& stream : behind) stream->EndBehind(lease_);
    RunAll(std::move(expired));
  }
}

void InvalidationHub::RunAll(std::vector<Waiter> done) {
  for (Waiter& waiter : done) waiter.reply();
}

}  // namespace sessiond::service
