#include "storage/event_sequencer.h"

#include <utility>

namespace sessiond::storage {

EventSequencer::Reservation::Reservation(Reservation&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), first_(other.first_), count_(other.count_) {}

EventSequencer::Reservation::~Reservation() {
  if (owner_ != nullptr) owner_->Finish(first_, count_, {});
}

EventSequencer::EventSequencer(EventLog& log, uint64_t next_sequence)
    : log_(log), next_(next_sequence), published_until_(next_sequence) {}

EventSequencer::Reservation EventSequencer::Reserve(size_t count) {
  absl::MutexLock lock(&mu_);
  const uint64_t first = next_;
  next_ += count;
  log_.NoteReserved(next_);
  return Reservation(this, first, count);
}

void EventSequencer::Publish(Reservation reservation, std::vector<SessionEvent> events) {
  reservation.owner_ = nullptr;
  Finish(reservation.first_, reservation.count_, std::move(events));
}

uint64_t EventSequencer::published_until() const {
  absl::MutexLock lock(&mu_);
  return published_until_;
}

void EventSequencer::Finish(uint64_t first, size_t count, std::vector<SessionEvent> events) {
  absl::MutexLock lock(&mu_);
  finished_.emplace(first, std::make_pair(count, std::move(events)));
  // Appending under the lock keeps the log's order; EventLog::Append is quick and wakes waiters,
  // which must not call back into the store.
  for (auto it = finished_.begin(); it != finished_.end() && it->first == published_until_;
       it = finished_.erase(it)) {
    for (SessionEvent& event : it->second.second) log_.Append(std::move(event));
    published_until_ += it->second.first;
  }
}

}  // namespace sessiond::storage
