// The Lua scripts of the Redis backend: each Store call is one of them (a rotation is three), so
// each runs atomically on the Redis primary that owns the session's slot, in one round trip.
//
// Layout of a session `id` under key prefix P (all three keys share the hash tag {id}, hence the
// slot, and the session's TTL):
//   P:{id}    hash: the metadata fields below, and one field "=<key>" per entry whose value is
//             "<version that wrote it> <kind byte><payload>" (storage/value.h's kind and payload)
//   P:{id}:t  hash: tombstones, <removed key> -> version that removed it (at most max_keys)
//   P:{id}:r  hash: applied request_ids, <request_id> -> "<version> <expires ms> <sequence>"
// Metadata fields: #v version, #c created ms, #e idle deadline ms, #a absolute expiry ms,
// #t idle timeout ms, #p principal, #f removed floor, #n key count, #b data bytes, #q request
// sequence; a stub (the idempotency record a Delete or Rotate with a request_id leaves) has #s
// (the id the session was rotated to, or empty) instead of entries. Times are the sessiond
// replica's clock in Unix ms, passed in by the caller, so expiry follows the Store's Clock; the
// keys' Redis TTL is set to the idle deadline as a backstop that reclaims them.
//
// Replies: a table whose first element says the outcome: "OK" followed by the metadata (version,
// created, idle deadline, absolute expiry, idle timeout, principal, all as text) and, for reads,
// field/value pairs of entries; or "NOT_FOUND", "ALREADY_EXISTS", "ABORTED" (version, then the
// conflicting keys), "FAILED_PRECONDITION" (version), "RESOURCE_EXHAUSTED" (message), and the
// script-specific outcomes documented in redis_scripts.cc.
#ifndef SESSIOND_STORAGE_REDIS_SCRIPTS_H_
#define SESSIOND_STORAGE_REDIS_SCRIPTS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace sessiond::storage {

struct RedisScript {
  absl::string_view name;
  // The Lua source, shared helpers included.
  std::string body;
  // Its SHA1 in hex, as EVALSHA wants it.
  std::string sha1;
};

// The scripts, built once (thread-safe).
const RedisScript& RedisCreateScript();
const RedisScript& RedisGetScript();
const RedisScript& RedisApplyScript();
const RedisScript& RedisDeleteScript();
const RedisScript& RedisRotateBeginScript();
const RedisScript& RedisRotatePlaceScript();
const RedisScript& RedisRotateEndScript();
const RedisScript& RedisReleaseClaimScript();

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_REDIS_SCRIPTS_H_
