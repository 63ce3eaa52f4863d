#include "service/health_reporter.h"

#include "sessiond/v1/session.grpc.pb.h"

namespace sessiond::service {

HealthReporter::HealthReporter(grpc::HealthCheckServiceInterface* health,
                               const storage::Store* store, absl::Duration interval)
    : health_(health), store_(store), interval_(interval) {
  {
    absl::MutexLock lock(&mu_);
    Report();
  }
  thread_ = std::thread([this] { Run(); });
}

HealthReporter::~HealthReporter() {
  stop_.Notify();
  thread_.join();
}

void HealthReporter::Drain() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
  Report();
}

void HealthReporter::Run() {
  while (!stop_.WaitForNotificationWithTimeout(interval_)) {
    absl::MutexLock lock(&mu_);
    Report();
  }
}

void HealthReporter::Report() {
  health_->SetServingStatus(!draining_);
  health_->SetServingStatus(v1::SessionService::service_full_name(),
                            !draining_ && store_->AcceptsWrites());
}

}  // namespace sessiond::service
