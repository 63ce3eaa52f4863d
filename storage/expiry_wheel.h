// ExpiryWheel: a hashed timing wheel of one-second slots that finds expired items in time
// proportional to the number of items that expired, not to the number it holds.
//
// Items are intrusive (a session node derives from ExpiryWheel::Item), so inserting and removing
// are O(1) and allocate nothing. An item's deadline is its owner's: the wheel is told it on Insert
// and asks for it again (Advance's `deadline_of`) when the item's slot comes due, so the item
// itself holds only its links. A deadline may move later while its item is linked (a session's idle
// timer is renewed): the item stays where it is and is moved to its new slot when its old slot
// comes due, so a renewal costs nothing here. Deadlines never move earlier.
//
// Not thread-safe: the owner serialises calls (the memory store calls it under its shard lock).
#ifndef SESSIOND_STORAGE_EXPIRY_WHEEL_H_
#define SESSIOND_STORAGE_EXPIRY_WHEEL_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"

namespace sessiond::storage {

class ExpiryWheel {
 public:
  // The intrusive link.
  struct Item {
   private:
    friend class ExpiryWheel;
    Item* prev = nullptr;
    Item* next = nullptr;
    int32_t slot = kUnlinked;
  };

  // A wheel whose first due second is the one containing `start`. `slot_count` must be a power of
  // two; deadlines further ahead than slot_count seconds cost one extra look per lap.
  explicit ExpiryWheel(absl::Time start, size_t slot_count = 4096);

  ExpiryWheel(const ExpiryWheel&) = delete;
  ExpiryWheel& operator=(const ExpiryWheel&) = delete;

  // Links `item`, whose deadline is `deadline`. The item must not be linked.
  void Insert(Item* item, absl::Time deadline);

  // Unlinks `item` if it is linked; a no-op otherwise.
  void Remove(Item* item);

  // Visits the slots of every whole second that has passed by `now` since the last call. Items in
  // them whose deadline (`deadline_of`, which must not change the wheel) is at or before `now` are
  // unlinked and handed to `on_expired` (which may destroy them); the others are relinked under
  // their later deadline. Returns how many expired.
  size_t Advance(absl::Time now, absl::FunctionRef<absl::Time(const Item*)> deadline_of,
                 absl::FunctionRef<void(Item*)> on_expired);

 private:
  static constexpr int32_t kUnlinked = -1;

  void Link(Item* item, int64_t second);
  size_t DrainSlot(size_t index, absl::Time now,
                   absl::FunctionRef<absl::Time(const Item*)> deadline_of,
                   absl::FunctionRef<void(Item*)> on_expired);

  std::vector<Item*> heads_;
  const int64_t mask_;
  // The next second whose slot has not been visited.
  int64_t cursor_;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_EXPIRY_WHEEL_H_
