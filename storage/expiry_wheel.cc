#include "storage/expiry_wheel.h"

#include <algorithm>

namespace sessiond::storage {

ExpiryWheel::ExpiryWheel(absl::Time start, size_t slot_count)
    : heads_(slot_count, nullptr),
      mask_(static_cast<int64_t>(slot_count) - 1),
      cursor_(absl::ToUnixSeconds(start)) {}

void ExpiryWheel::Insert(Item* item, absl::Time deadline) {
  // A deadline in a second already visited goes to the next slot to visit, not a lap later.
  Link(item, std::max(absl::ToUnixSeconds(deadline), cursor_));
}

void ExpiryWheel::Link(Item* item, int64_t second) {
  item->slot = static_cast<int32_t>(second & mask_);
  Item*& head = heads_[item->slot];
  item->prev = nullptr;
  item->next = head;
  if (head != nullptr) head->prev = item;
  head = item;
}

void ExpiryWheel::Remove(Item* item) {
  if (item->slot == kUnlinked) return;
  if (item->prev != nullptr) {
    item->prev->next = item->next;
  } else {
    heads_[item->slot] = item->next;
  }
  if (item->next != nullptr) item->next->prev = item->prev;
  item->prev = item->next = nullptr;
  item->slot = kUnlinked;
}

size_t ExpiryWheel::Advance(absl::Time now, absl::FunctionRef<absl::Time(const Item*)> deadline_of,
                            absl::FunctionRef<void(Item*)> on_expired) {
  // Only whole seconds are visited, so every item left in a visited slot expires later than `now`.
  const int64_t end = absl::ToUnixSeconds(now);
  if (end <= cursor_) return 0;
  // After a long pause one lap visits every slot once.
  const int64_t first = std::max(cursor_, end - mask_ - 1);
  cursor_ = end;
  size_t expired = 0;
  for (int64_t second = first; second < end; ++second) {
    expired += DrainSlot(static_cast<size_t>(second & mask_), now, deadline_of, on_expired);
  }
  return expired;
}

size_t ExpiryWheel::DrainSlot(size_t index, absl::Time now,
                              absl::FunctionRef<absl::Time(const Item*)> deadline_of,
                              absl::FunctionRef<void(Item*)> on_expired) {
  Item* item = heads_[index];
  heads_[index] = nullptr;
  size_t expired = 0;
  while (item != nullptr) {
    Item* next = item->next;
    item->prev = item->next = nullptr;
    item->slot = kUnlinked;
    const absl::Time deadline = deadline_of(item);
    if (deadline <= now) {
      ++expired;
      on_expired(item);
    } else {
      Insert(item, deadline);
    }
    item = next;
  }
  return expired;
}

}  // namespace sessiond::storage
