#include "service/metrics_interceptor.h"

#include <string>

#include "absl/time/clock.h"
#include "service/metrics.h"
#include "service/metrics_labels.h"

namespace sessiond::service {
namespace {

using grpc::experimental::InterceptionHookPoints;

// One per call, created as the call arrives.
class MetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(Metrics* metrics, const char* method)
      : metrics_(metrics), method_(method == nullptr ? "" : method), started_(absl::Now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      absl::string_view tenant;
      if (const auto* trailers = methods->GetSendTrailingMetadata(); trailers != nullptr) {
        if (auto it = trailers->find(kTenantTrailer); it != trailers->end()) tenant = it->second;
      }
      metrics_->RecordRpc(method_, tenant, methods->GetSendStatus(), absl::Now() - started_);
    }
    methods->Proceed();
  }

 private:
  Metrics* const metrics_;
  const std::string method_;
  const absl::Time started_;
};

}  // namespace

grpc::experimental::Interceptor* MetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new MetricsInterceptor(metrics_, info->method());
}

}  // namespace sessiond::service
