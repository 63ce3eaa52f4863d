// ResponseBudget: bounds the bytes of serialized responses the server holds for clients that do not
// read them. gRPC keeps a response until the client's flow-control window lets it out; a client
// that grants no window (a slow reader) could otherwise pile up one session per call, across as
// many streams as it opens (gRPC 1.51 enforces the stream cap only once the client acknowledges the
// server's SETTINGS). A response that would exceed the server's budget, or its connection's share
// (an eighth), is replaced by RESOURCE_EXHAUSTED; a connection with nothing pending gets one while
// the server's budget has room.
//
// Thread-safe.
#ifndef SESSIOND_SERVICE_RESPONSE_BUDGET_H_
#define SESSIOND_SERVICE_RESPONSE_BUDGET_H_

#include <cstddef>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_callback.h"

namespace sessiond::service {

class ResponseBudget {
 public:
  explicit ResponseBudget(size_t max_bytes) : max_bytes_(max_bytes) {}

  // Reserves `bytes` for `connection` (the peer's address, one per connection): true if the server
  // stays within its budget and the connection within its share (or had nothing pending).
  bool TryCharge(const std::string& connection, size_t bytes);
  // Returns what TryCharge reserved.
  void Release(const std::string& connection, size_t bytes);

  size_t max_bytes() const { return max_bytes_; }

 private:
  const size_t max_bytes_;
  absl::Mutex mu_;
  size_t pending_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, size_t> per_connection_ ABSL_GUARDED_BY(mu_);
};

// RESOURCE_EXHAUSTED for a response refused by `budget`, naming its flag.
absl::Status OverResponseBudget(const ResponseBudget& budget);

// A unary call's reactor that holds its response's bytes against a ResponseBudget until gRPC is
// done with the call (the response written out, or the call cancelled), then deletes itself.
class BudgetedReactor final : public grpc::ServerUnaryReactor {
 public:
  BudgetedReactor(ResponseBudget* budget, std::string connection)
      : budget_(budget), connection_(std::move(connection)) {}

  // Charges a response of `bytes`; false, charging nothing, if it is over the budget. Call once,
  // before Finish.
  bool Charge(size_t bytes);

  void OnDone() override;
  void OnCancel() override {}
  // Lets gRPC run OnDone on the thread that ends the call, as it does for its own default reactor.
  // Otherwise gRPC 1.51 hands every call's OnDone to its executor thread: one more thread switch
  // per call, 15-30 % of a Get's server CPU (docs/PERFORMANCE.md, P2). OnDone qualifies: it never
  // blocks and takes only the budget's lock, which is never held while calling out.
  bool InternalInlineable() override { return true; }

 private:
  ResponseBudget* const budget_;
  const std::string connection_;
  size_t charged_ = 0;
};

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_RESPONSE_BUDGET_H_
