// The Lua scripts of the Redis backend: each Store call is one of them (a rotation is three; a
// sweep, a revocation or a long listing a few), so each runs atomically on the Redis primary
// that owns the session's slot, in one round trip.
//
// Layout of a session `id` under key prefix P (all three keys share the hash tag {id}, hence the
// slot):
//   P:{id}    hash: the metadata fields below, and one field "=<key>" per entry whose value is
//             "<version that wrote it> <kind byte><payload>" (storage/value.h's kind and payload)
//   P:{id}:t  hash: tombstones, <removed key> -> version that removed it (at most max_keys)
//   P:{id}:r  hash: applied request_ids, <request_id> -> "<version> <expires ms> <sequence>"
// Metadata fields: #v version, #c created ms, #e idle deadline ms, #a absolute expiry ms,
// #t idle timeout ms, #p principal, #x last access ms, #l labels (encoded by the caller), #f
// removed floor, #n key count, #b data bytes, #q request sequence, #m rotation lease. A session
// that ended leaves a stub in P:{id} for the gone retention (and a request_id's idempotency
// window): #s (the id it was rotated to, or empty), #v, #e (when the stub goes) and #g
// ("<GoneReason> <ended ms>"), no entries. Times are the sessiond replica's clock in Unix ms,
// passed in by the caller, so expiry follows the Store's Clock; the keys' Redis TTL is the idle
// deadline plus a slack, a backstop that reclaims them if no sweep does.
//
// In a Redis Cluster, P:j:{<slot tag>} is the journal of a slot (redis_journal.h): the scripts
// append there each change of the shared keys below, which live in one other slot.
//
// Shared keys, standalone (a script may touch one slot only in a cluster, so there they are
// named {P}:d, {P}:i:<principal>, {P}:ic, {P}:l:<tenant>~, {P}:n and {P}:events, in one slot,
// and changed by the journal's mover):
//   P:d       sorted set: every session's id at the score of its idle deadline (ms); the sweep
//             ends the due ones, so expiries are recorded and indexes exact without waiting for
//             a read
//   P:i:<principal>  sorted set: the principal's live sessions, members "<created ms as 15
//             digits>:<id>" at score 0, so lexicographic order is (created, id)
//   P:ic      the number of members of all principal indexes
//   P:l:<tenant>~  sorted set: the live sessions whose ids start with "<tenant>~" (tenant_store.h)
//             at the score of their absolute expiry (ms), which renewals never move; Create
//             counts the members not past it against the tenant's live cap (an idle-expired
//             session counts until it ends, at the latest when the sweep reaches it); in a
//             cluster a reservation in the shared slot counts them before the create
//             (redis_journal.h)
//   P:n       the last event sequence; P:events the event stream, one entry per change with id
//             0-<sequence>, trimmed to about the event retention (MAXLEN ~)
//
// Replies: a table whose first element is the sequence of the last event the script appended
// ("0": none; in a cluster "1" if it appended to its slot's journal), the second the outcome: "OK"
// followed by the metadata (version, created, idle deadline, absolute expiry, idle timeout,
// principal, last access, labels, all as text) and, for reads, field/value pairs of entries; or
// "NOT_FOUND" (then, for a stub, the GoneReason and when it ended), "ALREADY_EXISTS", "ABORTED"
// (version, then the conflicting keys), "FAILED_PRECONDITION" (version), "PRINCIPAL_CAP",
// "LIVE_CAP" (live sessions), and the script-specific outcomes documented in redis_scripts.cc.
#ifndef SESSIOND_STORAGE_REDIS_SCRIPTS_H_
#define SESSIOND_STORAGE_REDIS_SCRIPTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace sessiond::storage {

struct RedisScript {
  absl::string_view name;
  // The Lua source, shared helpers included.
  std::string body;
  // Its SHA1 in hex, as EVALSHA wants it.
  std::string sha1;
};

// A script named `name` with the Lua source `body`, its SHA1 computed.
RedisScript MakeRedisScript(absl::string_view name, std::string body);

// Lua prepended to every script that finds a session's tenant: tenant_of(id) is the tenant prefix
// the id starts with (up to and including its '~', tenant_store.h), or nil for an id without one.
inline constexpr absl::string_view kRedisLuaTenantOf = R"lua(
local function tenant_of(id) return string.match(id, '^[^~]*~') end
)lua";

// The scripts, built once (thread-safe).
const RedisScript& RedisCreateScript();
const RedisScript& RedisGetScript();
const RedisScript& RedisApplyScript();
const RedisScript& RedisDeleteScript();
const RedisScript& RedisRotateBeginScript();
const RedisScript& RedisRotatePlaceScript();
const RedisScript& RedisRotateEndScript();
// A list of strings as one argument or field (labels as key, value, key, value...; an event's
// changed keys): each as "<byte length>:<bytes>", concatenated.
std::string RedisEncodeList(absl::Span<const std::string> strings);
// DATA_LOSS if `encoded` is not what RedisEncodeList makes.
absl::StatusOr<std::vector<std::string>> RedisDecodeList(absl::string_view encoded);

// Cluster only, on one session with its slot's journal: SweepOne ends it if its deadline has
// passed; EndOfPrincipal ends it (revoked or evicted) if it is the given principal's.
const RedisScript& RedisSweepOneScript();
const RedisScript& RedisEndOfPrincipalScript();

// Standalone only: they reach the keys of many sessions.
const RedisScript& RedisSweepScript();
const RedisScript& RedisListScript();
const RedisScript& RedisRevokeScript();
const RedisScript& RedisReleaseClaimScript();

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_REDIS_SCRIPTS_H_
