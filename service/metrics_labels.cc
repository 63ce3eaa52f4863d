#include "service/metrics_labels.h"

#include <array>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace sessiond::service {
namespace {

constexpr std::array<absl::string_view, 3> kServices = {
    "/sessiond.v1.SessionService/", "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/"};

// Every flag whose limit a request can be refused for.
constexpr std::array<absl::string_view, 14> kLimits = {"max_keys",
                                                       "max_key_bytes",
                                                       "max_value_bytes",
                                                       "max_session_bytes",
                                                       "max_principal_bytes",
                                                       "max_labels",
                                                       "max_label_bytes",
                                                       "max_sessions_per_principal",
                                                       "max_memory_bytes",
                                                       "min_free_disk_bytes",
                                                       "max_queued_requests",
                                                       "max_idle_timeout",
                                                       "max_absolute_timeout",
                                                       "max_message_bytes"};

}  // namespace

std::string MethodLabel(absl::string_view method) {
  for (absl::string_view service : kServices) {
    if (absl::StartsWith(method, service)) return std::string(method);
  }
  return "other";
}

std::string LimitLabel(absl::StatusCode code, absl::string_view message) {
  for (absl::string_view limit : kLimits) {
    if (absl::StrContains(message, absl::StrCat("(--", limit, ")"))) return std::string(limit);
  }
  // gRPC refuses an oversized request itself, before sessiond sees it.
  if (code == absl::StatusCode::kResourceExhausted &&
      absl::StrContains(message, "larger than max")) {
    return "max_message_bytes";
  }
  return "";
}

std::string CodeLabel(absl::StatusCode code) { return absl::StatusCodeToString(code); }

}  // namespace sessiond::service
