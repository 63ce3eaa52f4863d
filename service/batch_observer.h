// BatchObserver: what SessionServiceImpl reports about each operation inside a Batch, so that an
// observer (Metrics) can count them by their own rpc, which interceptors only see as one Batch.
#ifndef SESSIOND_SERVICE_BATCH_OBSERVER_H_
#define SESSIOND_SERVICE_BATCH_OBSERVER_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sessiond::service {

class BatchObserver {
 public:
  virtual ~BatchObserver() = default;

  // Called once per finished operation of a Batch, on the thread that ran it (concurrently for
  // the operations of one batch): `method` is the full name of the operation's own rpc
  // ("/sessiond.v1.SessionService/Get"), `status` its outcome as the rpc would have returned it.
  virtual void OnBatchedOperation(absl::string_view method, const absl::Status& status) = 0;
};

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_BATCH_OBSERVER_H_
