// The PostgreSQL store's count for a tenant's cap on live sessions (LiveCap): how many sessions
// under the cap's id prefix are live, read from the primary key's range of that prefix, and the
// refusal when the cap is reached. The caller holds the cap's advisory lock (every replica takes
// the same one), so the count stays true until its transaction commits.
#ifndef SESSIOND_STORAGE_POSTGRES_LIVE_CAP_H_
#define SESSIOND_STORAGE_POSTGRES_LIVE_CAP_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "storage/live_cap.h"
#include "storage/postgres_connection.h"

namespace sessiond::storage {

// The statements PgCheckLiveCap runs, for each connection to prepare: name, SQL ("{t}" is the
// sessions table). They count the sessions (not stubs) whose ids are in [$1, $3) (the second:
// from $1 on) and whose stored idle deadline is after $2 (milliseconds).
inline constexpr std::pair<const char*, const char*> kPgLiveCapStatements[] = {
    {"live_count",
     "SELECT count(*) FROM {t} WHERE id >= $1 AND id < $3 AND NOT stub AND idle_expires_at > $2"},
    {"live_count_from",
     "SELECT count(*) FROM {t} WHERE id >= $1 AND NOT stub AND idle_expires_at > $2"},
};

// OK if fewer than cap.max sessions whose ids start with cap.id_prefix have a stored idle deadline
// after `counted_after`, else LiveCapExceeded naming how many do. One round trip on `connection`,
// in its open transaction; it reads the rows of the prefix (sessions, expired ones and stubs).
absl::Status PgCheckLiveCap(PgConnection& connection, const LiveCap& cap, absl::Time counted_after,
                            absl::Time deadline);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_POSTGRES_LIVE_CAP_H_
