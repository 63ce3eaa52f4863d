// MetricsInterceptorFactory: a gRPC server interceptor that reports every finished rpc (method,
// the tenant it was served as, status, time from arrival to status) to Metrics. The tenant is the
// `sessiond-tenant` trailing metadata the handler set (caller_tenant.h); none without tenants or
// before authentication.
#ifndef SESSIOND_SERVICE_METRICS_INTERCEPTOR_H_
#define SESSIOND_SERVICE_METRICS_INTERCEPTOR_H_

#include "grpcpp/support/server_interceptor.h"

namespace sessiond::service {

class Metrics;

class MetricsInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // Reports to `metrics` (not owned; must outlive the server).
  explicit MetricsInterceptorFactory(Metrics* metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  Metrics* const metrics_;
};

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_METRICS_INTERCEPTOR_H_
