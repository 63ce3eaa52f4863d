#include "service/request_validation.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace sessiond::service {
namespace {

constexpr size_t kMaxKeyEcho = 64;

}  // namespace

size_t ValueBytes(const v1::Value& value) {
  switch (value.kind_case()) {
    case v1::Value::kStringValue:
      return value.string_value().size();
    case v1::Value::kBytesValue:
      return value.bytes_value().size();
    case v1::Value::kJsonValue:
      return value.json_value().size();
    default:
      return 8;  // the scalars are at most 8 bytes
  }
}

std::string KeyField(absl::string_view field, absl::string_view key) {
  const bool cut = key.size() > kMaxKeyEcho;
  return absl::StrCat(field, "[\"", absl::CHexEscape(key.substr(0, kMaxKeyEcho)), cut ? "..." : "",
                      "\"]");
}

absl::Status ValidateKey(absl::string_view key, FieldName field, const ServiceLimits& limits) {
  if (key.empty()) return absl::InvalidArgumentError(absl::StrCat(field(), ": the key is empty"));
  if (key.size() > limits.max_key_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(field(), ": the key is ", key.size(),
                                                   " bytes; the limit is ", limits.max_key_bytes,
                                                   " (--max_key_bytes)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateValue(const v1::Value& value, FieldName field, const ServiceLimits& limits) {
  if (value.kind_case() == v1::Value::KIND_NOT_SET) {
    return absl::InvalidArgumentError(absl::StrCat(field(), ": the value has no kind set"));
  }
  if (const size_t bytes = ValueBytes(value); bytes > limits.max_value_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(field(), ": the value is ", bytes, " bytes; the limit is ",
                     limits.max_value_bytes, " (--max_value_bytes)"));
  }
  return absl::OkStatus();
}

size_t MaxRequestKeys(const ServiceLimits& limits) { return 2 * limits.session.max_keys; }

absl::Status ValidateRequestKeyCount(size_t count, absl::string_view field,
                                     const ServiceLimits& limits) {
  if (count > MaxRequestKeys(limits)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", count, " elements; the limit is ",
                                                   MaxRequestKeys(limits), " (twice --max_keys)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRequestId(absl::string_view request_id) {
  if (request_id.size() > kMaxRequestIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat("request_id: the id is ", request_id.size(),
                                                   " bytes; the limit is ", kMaxRequestIdBytes));
  }
  return absl::OkStatus();
}

absl::Status ValidatePrincipal(absl::string_view principal, const ServiceLimits& limits) {
  if (principal.size() > limits.max_principal_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("principal: ", principal.size(), " bytes; the limit is ",
                     limits.max_principal_bytes, " (--max_principal_bytes)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateLabels(const google::protobuf::Map<std::string, std::string>& labels,
                            const ServiceLimits& limits) {
  if (labels.size() > limits.max_labels) {
    return absl::InvalidArgumentError(absl::StrCat(
        "labels: ", labels.size(), " labels; the limit is ", limits.max_labels, " (--max_labels)"));
  }
  for (const auto& [key, value] : labels) {
    if (key.empty()) return absl::InvalidArgumentError("labels: a label key is empty");
    const size_t longest = std::max(key.size(), value.size());
    if (longest > limits.max_label_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("labels[\"", absl::CHexEscape(key.substr(0, 64)),
                       "\"]: ", key.size() > value.size() ? "key" : "value", " of ", longest,
                       " bytes; the limit is ", limits.max_label_bytes, " (--max_label_bytes)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> ResolveTimeout(const google::protobuf::Duration* requested,
                                              TimeoutKind kind, const ServiceLimits& limits) {
  const bool idle = kind == TimeoutKind::kIdle;
  const absl::string_view field = idle ? "idle_timeout" : "absolute_timeout";
  if (requested == nullptr || (requested->seconds() == 0 && requested->nanos() == 0)) {
    return idle ? limits.default_idle_timeout : limits.default_absolute_timeout;
  }
  const bool mixed_signs = (requested->seconds() > 0 && requested->nanos() < 0) ||
                           (requested->seconds() < 0 && requested->nanos() > 0);
  if (mixed_signs || requested->nanos() <= -1'000'000'000 || requested->nanos() >= 1'000'000'000) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": not a valid Duration (seconds and nanos must have one sign, |nanos| < 1e9)"));
  }
  const absl::Duration timeout =
      absl::Trunc(absl::Seconds(requested->seconds()) + absl::Nanoseconds(requested->nanos()),
                  absl::Milliseconds(1));
  if (timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", absl::FormatDuration(timeout), " is negative"));
  }
  const absl::Duration max = idle ? limits.max_idle_timeout : limits.max_absolute_timeout;
  if (timeout > max) {
    if (idle ? limits.tenant_max_idle_timeout : limits.tenant_max_absolute_timeout) {
      // The tenant's own limit: a quota of that application, like its bytes and live sessions.
      return absl::ResourceExhaustedError(absl::StrCat(
          field, ": ", absl::FormatDuration(timeout), " is over tenant \"", limits.tenant,
          "\"'s max_", field, " ", absl::FormatDuration(max), " (--tenants_file)"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", absl::FormatDuration(timeout), " is too long; the limit is ",
                     absl::FormatDuration(max), " (--max_", field, ")"));
  }
  if (timeout == absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": under one millisecond; the shortest timeout is 1ms"));
  }
  return timeout;
}

absl::Status ValidateTenantBytes(size_t bytes, absl::string_view field,
                                 const ServiceLimits& limits) {
  if (limits.tenant_max_session_bytes == 0 || bytes <= limits.tenant_max_session_bytes) {
    return absl::OkStatus();
  }
  return absl::ResourceExhaustedError(
      absl::StrCat(field, ": ", bytes, " bytes of keys and values; the limit is ",
                   limits.tenant_max_session_bytes, " (",
                   TenantLimitName(limits.tenant, "max_session_bytes"), ")"));
}

std::string TenantLimitName(absl::string_view tenant, absl::string_view name) {
  return absl::StrCat("tenant \"", tenant, "\"'s ", name, ", --tenants_file");
}

}  // namespace sessiond::service
