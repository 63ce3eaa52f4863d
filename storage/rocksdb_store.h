// The RocksDB Store: durable sessions on one node. Sessions survive restarts and `kill -9`.
//
// Layout: the default column family maps session id -> SessionRecord (session_codec.h); the
// "expiry" column family holds one key per session, big-endian deadline in ms + id, so the sweeper
// walks deadlines in time order. A session is filed under its idle deadline when created, and
// renewals do not refile it (that would be two more writes per request): the sweeper, finding an
// entry due whose session was renewed since, refiles it under its current deadline. Sweeping thus
// costs what expired plus what came due, never a scan of all sessions. A due record that cannot be
// read back (DATA_LOSS) is deleted with its index entry rather than stopping expiry, counted in
// StoreStats::undecodable_records_deleted, and logged the first time. Every call is atomic for
// its session: it runs under a lock striped by id and writes one WriteBatch.
//
// A user's sessions (store.h), exact across restarts because each lives in the WriteBatch of the
// change it describes (rocksdb_keys.h has the key orders):
//   - "principals" holds one key per live session with a principal (principal, created_at
//     descending, id descending -> id): written with the session, deleted with it however it ends
//     (the sweeper included), so ListSessions and RevokeSessions read only that principal's keys
//     and the index never keeps a key of a session that is gone. The per-principal cap is counted
//     under a lock per principal (striped), which Create (when capped), Rotate and RevokeSessions
//     take before their session locks; an eviction is in the same batch as the new session.
//   - An ended session leaves a stub record under its id saying why and when (the idempotency
//     stubs, extended) for --gone_retention; the sweeper reclaims it like an expired session. The
//     first call to find a session expired ends it (event, stub) if the sweeper has not yet.
//   - "events" holds each event under its big-endian sequence. Sequences are reserved under the
//     session's lock just before its write and published to the EventLog in sequence order once
//     written (event_sequencer.h): one session's events are in the order of its changes, a watcher
//     never sees N+1 before N, and writers still share fsyncs. A failed write leaves a gap. Opening
//     loads the newest --event_retention events and numbers on after the last; the sweeper trims
//     older ones. Expiry events are written by the sweeper without fsync, like its deletes: a power
//     loss (not a kill -9) can lose the last ones with the expiries, which then happen again.
//
// A tenant's live sessions (NewSession::live_cap; only with SessionLimits::count_tenant_sessions,
// which the server sets with --tenants_file): counted in memory per tenant prefix
// (live_session_counts.h), seeded at open by one read of every record (those of live sessions
// whose deadline is still ahead), then kept by the events of every write once it succeeded. A
// create takes its place under the cap before its write, so the cap is exact, and after a kill -9
// the count is what the disk holds. Without tenants there is no read at open and no counting.
//
// Durability of an acknowledged change (create, mutation, delete, rotation):
//   kSync   its WAL record is fsynced before the call returns (concurrent writers share fsyncs
//           through RocksDB's group commit): survives kill -9 and power loss.
//   kAsync  its WAL record is written to the OS, not fsynced: survives kill -9 of the process, may
//           lose the last writes on power loss or a kernel crash.
// In kSync mode a committer thread takes ApplyGrouped calls (store.h) in groups: everything queued
// when it wakes, each session at most once per group (its later calls wait for the next group, in
// order), each under its stripe's lock held until the group's one WriteBatch is fsynced, with its
// events numbered together under those locks. A call that fails its checks is answered alone; a
// failed write fails every call it carried. Answers are given on that thread, once durable.
// Renewals of the idle timer alone (Get, Touch) always hold in memory at once; they are written
// (without fsync, in both modes) once they move the stored deadline by a second or more, so a
// crash can shorten a session by less than a second. A clean close writes them all. At most 256
// per lock stripe (131,072 in all) wait in memory; beyond that renewals are written at once.
//
// Disk use: the WAL is kept under 2 memtables (RocksDB then flushes the column families that hold
// its oldest log), so the data directory stays under about 3 x the live data (with the gone stubs
// and retained events) plus 32 memtables (8 per column family) plus 8 MiB (the ballast, and log
// files' space allocated ahead), however much was written and deleted (measured: 1 MB live, 100 MB
// of creates and deletes, 1 MiB memtables: 30 MB at the peak).
//
// A full disk never stops the process (RocksDB 7.8 aborts on a write after a failed WAL append;
// DiskGuard and rocksdb_file_system.h keep WAL appends from failing):
//   - a write is admitted only if, after it, min_free_disk_bytes (at most 1/32 of the volume) stay
//     free and a 4 MiB ballast file (<path>/RESERVED) is in place; free space is read on every
//     write. Refused writes fail with RESOURCE_EXHAUSTED; deletes need only half the reserve.
//   - if another process takes the last bytes between a write's admission and its WAL append, the
//     append gives up the ballast and goes through; later writes are refused until there is room.
//   - reads keep working; writes resume by themselves once space is freed (the ballast is
//     re-created first, and RocksDB resumes after a failed flush).
//   - opening gives up the ballast for the time of the open and replays the WAL without flushing
//     it first. Without room to open for writing even so (the ballast and 2 memtables), the store
//     opens read only: reads work, writes get RESOURCE_EXHAUSTED, and SweepExpired reopens it for
//     writing once there is room. A memtable is at most 1/16 of the volume, so that a small volume
//     has room to flush one.
// Other write errors fail with UNAVAILABLE.
#ifndef SESSIOND_STORAGE_ROCKSDB_STORE_H_
#define SESSIOND_STORAGE_ROCKSDB_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "storage/clock.h"
#include "storage/rocksdb_durability.h"
#include "storage/session.h"
#include "storage/store.h"

namespace sessiond::storage {

struct RocksDbStoreOptions {
  // The database directory; created (with its parents) if missing.
  std::string path;
  // Time source; not owned, must outlive the store. Null means RealClock().
  Clock* clock = nullptr;
  SessionLimits limits;
  Durability durability = Durability::kSync;
  size_t block_cache_bytes = size_t{256} << 20;
  // The size of one memtable (RocksDB's write_buffer_size) of each of the four column families;
  // at most 1/16 of the volume (at least 1 MiB). It bounds the WAL and the disk use (above).
  size_t memtable_bytes = size_t{32} << 20;
  // Writes are refused (RESOURCE_EXHAUSTED) while less than this (at most 1/32 of the volume)
  // would be free on the data directory's filesystem after them; see DiskGuard.
  uint64_t min_free_disk_bytes = uint64_t{128} << 20;
};

// Opens (or creates) the store at options.path. UNAVAILABLE if it is locked by another process or
// cannot be read; DATA_LOSS if it is corrupt.
absl::StatusOr<std::unique_ptr<Store>> OpenRocksDbStore(const RocksDbStoreOptions& options);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_ROCKSDB_STORE_H_
