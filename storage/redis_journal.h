// RedisJournal: how the Redis store keeps its shared keys (the event stream, the principal index,
// the tenants' live sets, the deadline set) exact in a Redis Cluster, where one script may change
// keys of one slot only and a principal's sessions live in many slots.
//
// Why not slot affinity (a principal's sessions under one hash tag): a session is found by its id
// alone, and ids are drawn by the service, opaque to stores (and arbitrary in the contract
// suite), so the id would have to encode the principal's slot, which Store's interface cannot
// ask for without changing every backend; a RotateId binding another principal would still move
// data between slots; one user's sessions would make one hot slot; and the events would still
// need one stream in one slot for their one order. So sessions stay spread by id, and what is
// shared goes through an outbox.
//
// The design: a transactional outbox per slot, applied to one shared slot.
// - A session keeps its keys under the hash tag {id} (redis_scripts.h), as standalone: reads and
//   renewals stay one script in one slot, however many sessions a principal has.
// - All shared keys live in one slot, under the hash tag {P} (P: the key prefix): {P}:events and
//   {P}:n (the event stream and its sequence), {P}:i:<principal> and {P}:ic (the index and its
//   size), {P}:r:<principal> (reservations under the cap), {P}:l:<tenant>~ and {P}:lr:<tenant>~
//   (a tenant's live sessions and its reservations under its live cap), {P}:d (the deadline set),
//   {P}:m (the markers below). One slot gives the events one order, and makes each cap's count
//   and reservation one script.
// - Each script that changes a session appends what it would have changed in the shared keys to
//   the journal of the session's slot, P:j:{<slot tag>} (a stream; RedisSlotTag names a tag for
//   each slot), in the same script, so the change and its journal entries are one atomic step:
//   an event; '+'/'-' of an index member; 'l' (the session joins its tenant's live set); 'd'
//   (the session's deadline entry goes, and its tenant's live entry).
// - Move(slot) applies a slot's journal to the shared slot: it reads the entries (XRANGE), runs
//   the apply script on the shared slot, which applies, in order, those after the slot's marker
//   (the last entry id it applied, {P}:m[slot]) and moves the marker, then deletes the entries
//   it read (XDEL). Entry ids only grow within a stream (Redis keeps its last id, across a
//   failover too, and the key is never deleted), so a batch applied twice (two movers of one
//   slot, a retry, a mover that died after applying) changes nothing the second time, and an
//   entry is deleted only once applied: no event or index change is lost or applied twice, and
//   a slot's entries are applied in the order they were written, so a session's events (one
//   session, one slot) keep the order of the calls.
// - The writer moves its slot's journal before its call returns (RedisStore's Eval does, when a
//   script says it appended): a call's events are in the stream, and its index change is
//   visible to ListSessions, once it returns. If that move fails (the write itself succeeded, so
//   the call does not fail), the slot is remembered and moved again by the next SweepExpired,
//   which also moves a window of 256 slots' journals in turn (all 16384 every 64 sweeps): what a
//   replica that died between its write and its move left is applied by the next write to that
//   slot or within 64 sweeps, whichever is first, still in order within the slot.
// - Deadlines: Create adds the session to {P}:d (ZADD GT, at its idle deadline) before its
//   script, a rotation adds the new id after placing the copy and before ending the old id, so a
//   session is in the set before it can be live; renewals do not touch the set (a renewal only
//   moves a deadline later, so the set's score stays at or before it). SweepExpired takes the
//   due entries, runs SweepOne on each session (ends it if due: expiry event and index removal
//   through the journal; else returns its deadline, which becomes the entry's score), and drops
//   entries of sessions that are gone. Its cost is proportional to the entries that came due
//   (sessions that expired, and renewed ones once per renewal period at most).
// - ListSessions reads a page of the principal's index from the shared slot, then each session
//   (its own slot, without renewing): one round trip per session. An entry whose session is not
//   live is dropped: its removal is still to be moved, or will never come (keys that Redis's TTL
//   reclaimed with no sweep running); an index entry exists only after its session was created,
//   and a session id never returns. Except a rotated session's: the rotation's move replaces it
//   with the new id's, and until then it holds the principal's room under the cap.
//   RevokeSessions reads the index in batches and ends each session with EndOfPrincipal in its
//   slot, following a rotated session to its new id (whose entry the rotation's move may not have
//   added yet; found through the old id's stub, so not when --gone_retention is 0).
// - The per-principal cap: a Create (or a Rotate binding another principal) first reserves room
//   (Reserve: one script on the shared slot counts the principal's index entries plus its other
//   unexpired reservations and, if under the cap, adds a reservation for the id with a 10 s
//   lease), then creates; the journal's '+' for the id ends its reservation, a failed create
//   releases it. Concurrent logins on any replicas are thus counted in one place, one at a time:
//   the cap is exact. When full, the caller reads the members' sessions (their last access lives
//   in their own slots): a member that is not live is dropped and frees its room; else
//   reject_new refuses, and evict_oldest ends the least recently used member (EndOfPrincipal,
//   evicted) and reserves again. Expired-but-unswept sessions do not count (reading them ends
//   them). A replica that stalls longer than the lease between its reservation and its create
//   could see its room given to another login: the cap can then be exceeded by that one session
//   until one ends (the lease is ten times the client's default timeouts).
// - A tenant's live cap (LiveCap, ids "<tenant>~..."): the tenant's live set {P}:l:<tenant>~ (ids
//   at their absolute expiry, which renewals never move) follows the journal: a Create and a
//   rotation's new id append 'l', an ending's 'd' drops the id (SweepOne's expiry, Delete,
//   revocation, eviction, the rotation's old id; and the sweep's DropDeadline for keys Redis's TTL
//   reclaimed). A capped Create first reserves a place (ReserveLive: one script on the shared slot
//   drops the members past their absolute expiry and the lapsed reservations, counts the members
//   plus the tenant's other reservations ({P}:lr:<tenant>~, ids at their lease end) and, if that
//   is under the cap, reserves the id with a 10 s lease; else LiveCapExceeded with that count),
//   then creates; the apply script that adds the id's 'l' also ends its reservation, so the
//   count never dips between them; a failed create releases it. Concurrent creates on any
//   replicas are thus counted in one place, one at a time: the cap is exact. A Rotate is never
//   refused (its move drops the old id and adds the new one). The reservation comes before the
//   principal cap's, so a create the tenant's cap refuses evicts nothing; without a principal cap
//   the same script also adds the deadline entry. What counts longer than the session lives (errs
//   towards refusing): a session that expired idle, until the sweep or a read ends it; keys
//   Redis's TTL reclaimed, until the sweep reaches their deadline entry; a failed create's
//   reservation whose release was lost, for its lease; a rotation's new id whose 'l' was applied
//   after its 'd' (the rotation's move failed and the new id ended first), until its absolute
//   expiry. What the cap may miss (it can be exceeded by that many sessions): a replica that
//   stalls longer than the lease between its reservation and its create; a session whose create
//   succeeded but whose move failed, or whose replica died before moving, from its lease's end
//   until its journal is moved (the next write to its slot, that replica's next sweep, or within
//   64 sweeps); sessions created by a sessiond without this set, or whose 'l' such a sessiond
//   moved (it skips the entry) during a rolling upgrade, until they end.
//
// Costs per call, in round trips (standalone: one script, one round trip): Get, Touch and a
// write that changes nothing shared: 1; a write with an event (Create, Apply that changes,
// Delete): 4 (the script, XRANGE, apply, XDEL), Create one more (the deadline; under a tenant's
// live cap, the reservation's script, which adds the deadline too, so none more) and, under a
// principal cap, one more (the reservation; when full, one per member and one per eviction; under
// both caps the tenant's reservation is one more), a refused or failed capped Create one to
// release each reservation it took; Rotate 3 + 4 + 1;
// ListSessions 1 + one per session; RevokeSessions 1 per 100 + 4 per session. Every event
// and index change passes through the shared slot's node: it orders all events, as the one
// stream of a standalone Redis does, while the sessions, their reads and renewals spread over
// the cluster.
//
// Limits: across a rotation, the rotated event (and the new id's index entry) is journaled in the
// old id's slot, the new id's later events in its own: their order holds when the rotation's move
// succeeds, as it does unless the shared slot's node fails during the rotation. The journals
// (at most 16384 streams, empty once moved) and the markers stay, a few bytes per slot. Sessions
// a cluster held before this design (no index entry, no deadline entry) end by their keys' TTL,
// without an expiry event, as they did then.
//
// Thread-safe.
#ifndef SESSIOND_STORAGE_REDIS_JOURNAL_H_
#define SESSIOND_STORAGE_REDIS_JOURNAL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/redis_client.h"
#include "storage/redis_scripts.h"

namespace sessiond::storage {

// The names of the shared keys of key prefix P (redis_scripts.h): standalone P:d, P:n, ...;
// in a cluster {P}:d, {P}:n, ..., all in one slot.
struct RedisSharedKeys {
  RedisSharedKeys(absl::string_view prefix, bool cluster);
  // The index key of `principal`.
  std::string IndexOf(absl::string_view principal) const {
    return index_prefix + std::string(principal);
  }
  // Cluster only: the reservations key of `principal` (hash: id -> lease end ms).
  std::string ReservationsOf(absl::string_view principal) const {
    return reservations_prefix + std::string(principal);
  }
  // Cluster only: the live set of the tenant whose ids start with `id_prefix` ("<tenant>~"; sorted
  // set: id -> absolute expiry ms), and its reservations (sorted set: id -> lease end ms).
  std::string LiveOf(absl::string_view id_prefix) const {
    return live_prefix + std::string(id_prefix);
  }
  std::string LiveReservationsOf(absl::string_view id_prefix) const {
    return live_reservations_prefix + std::string(id_prefix);
  }

  std::string deadlines;
  std::string sequence;
  std::string events;
  std::string indexed;
  // Cluster only: the journal markers.
  std::string markers;
  std::string index_prefix;
  std::string reservations_prefix;
  std::string live_prefix;
  std::string live_reservations_prefix;
};

class RedisJournal {
 public:
  // Runs a script on `keys` (routed by the first) with `args` after the config, as RedisStore's
  // Eval does, and returns its reply without the leading element.
  using ScriptRunner = std::function<absl::StatusOr<RedisReply>(
      const RedisScript& script, const std::vector<std::string>& keys,
      const std::vector<std::string>& args)>;

  // `client` must outlive the journal. `prefix` is the store's key prefix, `shared` its shared
  // keys in a cluster.
  RedisJournal(RedisClient* client, std::string prefix, RedisSharedKeys shared, ScriptRunner run);
  RedisJournal(const RedisJournal&) = delete;
  RedisJournal& operator=(const RedisJournal&) = delete;

  // The journal key of `slot`: P:j:{<RedisSlotTag(slot)>}.
  std::string KeyOf(int slot) const;

  // Applies every entry of `slot`'s journal to the shared keys, in order, and deletes them. On
  // failure (UNAVAILABLE, or a Redis error), remembers `slot` for MoveLeftovers.
  absl::Status Move(int slot);

  // Moves the journals of the slots whose Move failed, then of the next `scan` slots in turn.
  void MoveLeftovers(int scan);

  // The principal cap (the config's): reserves room for session `id` of `principal` for `lease`
  // if the principal's index entries and other reservations leave room (nullopt), else returns
  // the index members. Adding `id`'s index entry (Move) ends its reservation.
  absl::StatusOr<std::optional<std::vector<std::string>>> Reserve(absl::string_view principal,
                                                                  absl::string_view id,
                                                                  absl::Duration lease);
  // Ends `id`'s reservation (its Create or Rotate failed). Best effort: it lapses anyway.
  void Release(absl::string_view principal, absl::string_view id);

  // A tenant's live cap (LiveCap: `max` sessions whose ids start with `id_prefix`, "<tenant>~"):
  // reserves a place for session `id` for `lease` if the tenant's live sessions and other
  // reservations leave one (nullopt), and then, with `deadline_ms`, also puts `id` in the deadline
  // set at it (ZADD GT); else returns how many there are (no place reserved, no deadline entry).
  // Adding `id` to the tenant's live set (Move) ends its reservation.
  absl::StatusOr<std::optional<size_t>> ReserveLive(absl::string_view id_prefix, size_t max,
                                                    absl::string_view id, absl::Duration lease,
                                                    std::optional<int64_t> deadline_ms);
  // Ends `id`'s reservation under its tenant's cap (its Create failed). Best effort: it lapses
  // anyway.
  void ReleaseLive(absl::string_view id_prefix, absl::string_view id);

  // Drops `member` from `principal`'s index if it is there (a stale entry ListSessions or
  // RevokeSessions found).
  absl::Status DropIndexEntry(absl::string_view principal, const std::string& member);

  // Drops `id`'s deadline entry, and its tenant's live entry, if the deadline's score is still
  // `score` (the session is gone).
  absl::Status DropDeadline(const std::string& id, const std::string& score);

 private:
  RedisClient* const client_;
  const std::string prefix_;
  const ScriptRunner run_;
  const RedisSharedKeys shared_;
  absl::Mutex mu_;
  absl::flat_hash_set<int> failed_ ABSL_GUARDED_BY(mu_);
  int next_scan_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_REDIS_JOURNAL_H_
