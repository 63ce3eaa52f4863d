#include "storage/event_sequencer.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace sessiond::storage {
namespace {

using ::testing::ElementsAre;

SessionEvent Numbered(uint64_t sequence, std::string id) {
  SessionEvent event;
  event.sequence = sequence;
  event.id = std::move(id);
  return event;
}

std::vector<uint64_t> SequencesIn(const EventLog& log) {
  std::vector<uint64_t> sequences;
  absl::StatusOr<std::vector<SessionEvent>> events = log.Read(1, 100);
  if (events.ok()) {
    for (const SessionEvent& event : *events) sequences.push_back(event.sequence);
  }
  return sequences;
}

TEST(EventSequencerTest, ALaterWriteIsPublishedOnlyAfterTheEarlierOnes) {
  EventLog log(100);
  EventSequencer sequencer(log, 1);
  EventSequencer::Reservation first = sequencer.Reserve(2);
  EventSequencer::Reservation second = sequencer.Reserve(1);
  EXPECT_EQ(first.first(), 1u);
  EXPECT_EQ(second.first(), 3u);
  sequencer.Publish(std::move(second), {Numbered(3, "c")});
  EXPECT_THAT(SequencesIn(log), ElementsAre()) << "3 waits for 1 and 2";
  EXPECT_EQ(sequencer.published_until(), 1u);
  sequencer.Publish(std::move(first), {Numbered(1, "a"), Numbered(2, "b")});
  EXPECT_THAT(SequencesIn(log), ElementsAre(1, 2, 3));
  EXPECT_EQ(sequencer.published_until(), 4u);
}

TEST(EventSequencerTest, AnAbandonedReservationLeavesAGapAndReleasesTheRest) {
  EventLog log(100);
  EventSequencer sequencer(log, 5);
  std::optional<EventSequencer::Reservation> failed(sequencer.Reserve(1));
  EventSequencer::Reservation later = sequencer.Reserve(1);
  sequencer.Publish(std::move(later), {Numbered(6, "b")});
  EXPECT_THAT(SequencesIn(log), ElementsAre());
  failed.reset();  // its write failed: nothing to publish
  EXPECT_THAT(SequencesIn(log), ElementsAre(6));
  EXPECT_EQ(log.next_sequence(), 7u);
}

TEST(EventSequencerTest, TheLogKnowsOfCommittedEventsNotYetAppended) {
  EventLog log(100);
  EventSequencer sequencer(log, 1);
  EventSequencer::Reservation slow = sequencer.Reserve(1);
  EventSequencer::Reservation done = sequencer.Reserve(1);
  sequencer.Publish(std::move(done), {Numbered(2, "deleted")});
  // The write of 2 returned to its caller, but 2 waits for 1: a reader that must see every
  // committed change (a near cache's lease) reads up to 3, not to the log's next sequence.
  EXPECT_EQ(log.next_sequence(), 1u);
  EXPECT_EQ(log.committed_until(), 3u);
  sequencer.Publish(std::move(slow), {Numbered(1, "a")});
  EXPECT_EQ(log.next_sequence(), 3u);
  EXPECT_EQ(log.committed_until(), 3u);
}

}  // namespace
}  // namespace sessiond::storage
