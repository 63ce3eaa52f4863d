// HealthReporter: keeps gRPC health (grpc.health.v1) in step with the server and its store.
//
// The overall status ("") is SERVING while the server serves: the process is up and reads work.
// The session service's status ("sessiond.v1.SessionService") is SERVING only while the store also
// accepts writes (Store::AcceptsWrites), so a probe of that name sees a durable store that opened
// read-only on a full disk, and sees it recover by itself. Drain turns both NOT_SERVING for good.
// The store is polled every `interval` on a thread of its own. Thread-safe.
#ifndef SESSIOND_SERVICE_HEALTH_REPORTER_H_
#define SESSIOND_SERVICE_HEALTH_REPORTER_H_

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/health_check_service_interface.h"
#include "storage/store.h"

namespace sessiond::service {

class HealthReporter {
 public:
  // Reports on `health` (not owned) for `store` (not owned); both must outlive the reporter.
  // Reports at once, then every `interval`.
  HealthReporter(grpc::HealthCheckServiceInterface* health, const storage::Store* store,
                 absl::Duration interval);
  // Stops polling; the last statuses stay.
  ~HealthReporter();

  HealthReporter(const HealthReporter&) = delete;
  HealthReporter& operator=(const HealthReporter&) = delete;

  // Reports NOT_SERVING for both names from now on, whatever the store says.
  void Drain();

 private:
  void Run();
  void Report() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  grpc::HealthCheckServiceInterface* const health_;
  const storage::Store* const store_;
  const absl::Duration interval_;
  absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_HEALTH_REPORTER_H_
