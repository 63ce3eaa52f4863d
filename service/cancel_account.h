// CancelAccount: the rule ConnectionGuard holds each connection to — how many of its calls its
// client may cancel — kept apart from sockets and gRPC so that it is tested with figures alone.
//
// HTTP/2 rapid reset (CVE-2023-44487) opens streams and resets them at once: in gRPC 1.51 each
// reset stream still becomes a call that the server starts and runs (measured: 42,805 Gets run
// for one attacking connection in 4 s), so the stream cap never binds. Such a call ends cancelled.
// A legitimate client cancels a call when its deadline passes or its user gives up; it has at most
// `--max_concurrent_streams` calls in flight, so it can have that many cancelled at once.
//
// The rule (a leaky bucket): every cancelled call adds one; `max_cancelled / 10` are forgiven per
// second; the connection is abusive once the count exceeds `max_cancelled`. With the default
// (1,000) a client may cancel ten times its in-flight limit at once and 100 calls a second for
// ever. What trips it: a client cancelling more than 100 calls a second for ten seconds or more —
// rapid reset, or a client whose deadlines are shorter than the server takes (its calls fail
// anyway; after the close it reconnects).
//
// Not thread-safe: one owner.
#ifndef SESSIOND_SERVICE_CANCEL_ACCOUNT_H_
#define SESSIOND_SERVICE_CANCEL_ACCOUNT_H_

#include <cstdint>

#include "absl/time/time.h"

namespace sessiond::service {

class CancelAccount {
 public:
  // `max_cancelled` > 0.
  explicit CancelAccount(uint64_t max_cancelled) : max_cancelled_(max_cancelled) {}

  // Adds `cancelled` calls cancelled over the last `elapsed`; true if the connection is now
  // abusive (more than `max_cancelled` in the bucket).
  bool Add(uint64_t cancelled, absl::Duration elapsed);

  // Cancelled calls in the bucket.
  double level() const { return level_; }

 private:
  uint64_t max_cancelled_;
  double level_ = 0;
};

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_CANCEL_ACCOUNT_H_
