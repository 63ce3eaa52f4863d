// SessionServiceImpl's Batch: many independent operations in one call, each run exactly as its own
// rpc would run it (the same Do* handler), each with its own status.
#include <algorithm>
#include <atomic>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "service/caller_tenant.h"
#include "service/session_service.h"
#include "service/status_convert.h"

namespace sessiond::service {
namespace {

// The most executor threads one Batch spreads over besides its own: a batch may use a blocking
// store's parallelism, but not take over every thread.
constexpr int kMaxBatchHelpers = 8;

// Runs `run(0) .. run(count - 1)`, each exactly once, on the calling thread and on up to
// kMaxBatchHelpers tasks on `executor` (null: the calling thread alone), and returns when all have
// run. The calling thread takes operations too, so the batch finishes even if no helper task ever
// gets a thread; a helper that starts late finds nothing left and touches nothing of the batch.
template <typename Run>
void RunAll(int count, BlockingExecutor* executor, const Run& run) {
  struct Progress {
    explicit Progress(int count) : count(count) {}
    bool AllDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) { return done == count; }

    const int count;
    std::atomic<int> next{0};
    absl::Mutex mutex;
    int done ABSL_GUARDED_BY(mutex) = 0;
  };
  auto progress = std::make_shared<Progress>(count);
  // Runs operations until none is left. `run` is called only for an index below `count`, and the
  // batch does not return before every such call has ended, so `run` is still alive then.
  auto drain = [progress, &run] {
    int ran = 0;
    for (int i; (i = progress->next.fetch_add(1, std::memory_order_relaxed)) < progress->count;
         ++ran) {
      run(i);
    }
    if (ran == 0) return;
    absl::MutexLock lock(&progress->mutex);
    progress->done += ran;
  };
  if (executor != nullptr) {
    const int helpers = std::min(count - 1, kMaxBatchHelpers);
    for (int h = 0; h < helpers && executor->Submit(drain); ++h) {
    }
  }
  drain();
  absl::MutexLock lock(&progress->mutex);
  progress->mutex.Await(absl::Condition(progress.get(), &Progress::AllDone));
}

}  // namespace

absl::Status SessionServiceImpl::DoBatch(const CallScope& scope, const v1::BatchRequest& request,
                                         v1::BatchResponse* response) {
  const int count = request.operations_size();
  if (count == 0) {
    return absl::InvalidArgumentError("operations: empty; send at least one operation");
  }
  if (static_cast<size_t>(count) > scope.limits->max_batch_operations) {
    return absl::InvalidArgumentError(absl::StrCat("operations: ", count, "; the limit is ",
                                                   scope.limits->max_batch_operations,
                                                   " (--max_batch_operations)"));
  }
  for (int i = 0; i < count; ++i) {
    if (request.operations(i).request_case() == v1::BatchOperation::REQUEST_NOT_SET) {
      return absl::InvalidArgumentError(
          absl::StrCat("operations[", i,
                       "]: no request set; set one of create_session, get, set, remove, clear, "
                       "touch, delete, commit, rotate_id, list_sessions or revoke_sessions"));
    }
    response->add_results();
  }
  RunAll(count, executor_,
         [&](int i) { RunOperation(scope, request.operations(i), response->mutable_results(i)); });
  return absl::OkStatus();
}

template <typename Request, typename Response>
absl::Status SessionServiceImpl::RunWithRight(const CallScope& scope, Right right,
                                              Handler<Request, Response> handler,
                                              const Request& request, Response* response) {
  if (scope.tenant != nullptr) {
    if (absl::Status status = CheckRight(*scope.tenant, right); !status.ok()) return status;
  }
  return (this->*handler)(scope, request, response);
}

void SessionServiceImpl::RunOperation(const CallScope& scope, const v1::BatchOperation& operation,
                                      v1::BatchResult* result) {
  using Op = v1::BatchOperation;
  using Self = SessionServiceImpl;
  absl::Status status;
  absl::string_view method;  // the operation's own rpc
  switch (operation.request_case()) {
    case Op::kCreateSession:
      method = "CreateSession";
      status = RunWithRight(scope, Right::kSessions, &Self::DoCreateSession,
                            operation.create_session(), result->mutable_create_session());
      break;
    case Op::kGet:
      method = "Get";
      status = RunWithRight(scope, Right::kSessions, &Self::DoGet, operation.get(),
                            result->mutable_get());
      break;
    case Op::kSet:
      method = "Set";
      status = RunWithRight(scope, Right::kSessions, &Self::DoSet, operation.set(),
                            result->mutable_set());
      break;
    case Op::kRemove:
      method = "Remove";
      status = RunWithRight(scope, Right::kSessions, &Self::DoRemove, operation.remove(),
                            result->mutable_remove());
      break;
    case Op::kClear:
      method = "Clear";
      status = RunWithRight(scope, Right::kSessions, &Self::DoClear, operation.clear(),
                            result->mutable_clear());
      break;
    case Op::kTouch:
      method = "Touch";
      status = RunWithRight(scope, Right::kSessions, &Self::DoTouch, operation.touch(),
                            result->mutable_touch());
      break;
    case Op::kDelete:
      method = "Delete";
      status = RunWithRight(scope, Right::kSessions, &Self::DoDelete, operation.delete_(),
                            result->mutable_delete_());
      break;
    case Op::kCommit:
      method = "Commit";
      status = RunWithRight(scope, Right::kSessions, &Self::DoCommit, operation.commit(),
                            result->mutable_commit());
      break;
    case Op::kRotateId:
      method = "RotateId";
      status = RunWithRight(scope, Right::kSessions, &Self::DoRotateId, operation.rotate_id(),
                            result->mutable_rotate_id());
      break;
    case Op::kListSessions:
      method = "ListSessions";
      status = RunWithRight(scope, Right::kList, &Self::DoListSessions, operation.list_sessions(),
                            result->mutable_list_sessions());
      break;
    case Op::kRevokeSessions:
      method = "RevokeSessions";
      status = RunWithRight(scope, Right::kRevoke, &Self::DoRevokeSessions,
                            operation.revoke_sessions(), result->mutable_revoke_sessions());
      break;
    case Op::REQUEST_NOT_SET:  // DoBatch refuses the batch
      break;
  }
  if (batch_observer_ != nullptr) {
    batch_observer_->OnBatchedOperation(
        absl::StrCat("/", v1::SessionService::service_full_name(), "/", method), status);
  }
  ToBatchResult(status, result);
}

}  // namespace sessiond::service
