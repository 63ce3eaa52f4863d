// Checks on the parts of a request that the store does not check: key and value shapes and sizes,
// the principal, and requested timeouts.
//
// Every message has one shape: the field as the caller wrote it, what was wrong, and the limit
// with its flag: `entries["cart"]: the value is 300000 bytes; the limit is 262144
// (--max_value_bytes)`. Map entries are named by their key, repeated fields by their index
// (`keys[3]`, `ops[0].set.key`).
#ifndef SESSIOND_SERVICE_REQUEST_VALIDATION_H_
#define SESSIOND_SERVICE_REQUEST_VALIDATION_H_

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "service/limits.h"
#include "sessiond/v1/session.pb.h"

namespace sessiond::service {

// Names the field being checked, for an error message. Called only when there is an error, so
// that valid requests (the hot path) build no strings.
using FieldName = absl::FunctionRef<std::string()>;

// How a map entry is named in messages: `field["key"]`, the key C-escaped and cut to 64 characters.
std::string KeyField(absl::string_view field, absl::string_view key);

// INVALID_ARGUMENT if `key` is empty or longer than max_key_bytes. (ParseRequest has already
// refused a key that is not UTF-8.)
absl::Status ValidateKey(absl::string_view key, FieldName field, const ServiceLimits& limits);

// The bytes `value` counts for in a session's size (scalars: 8).
size_t ValueBytes(const v1::Value& value);

// INVALID_ARGUMENT if `value` has no kind set; RESOURCE_EXHAUSTED if it is over max_value_bytes.
absl::Status ValidateValue(const v1::Value& value, FieldName field, const ServiceLimits& limits);

// The most elements a request's `keys` (Get, Remove) or `ops` (Commit) may hold: twice max_keys,
// enough for a commit that removes every key and sets as many new ones. Repeats count: they cost
// the store work too.
size_t MaxRequestKeys(const ServiceLimits& limits);

// INVALID_ARGUMENT if the repeated field `field` holds more than MaxRequestKeys elements.
absl::Status ValidateRequestKeyCount(size_t count, absl::string_view field,
                                     const ServiceLimits& limits);

// The longest request_id (idempotency key) a mutation may carry.
inline constexpr size_t kMaxRequestIdBytes = 64;

// INVALID_ARGUMENT if `request_id` is longer than kMaxRequestIdBytes.
absl::Status ValidateRequestId(absl::string_view request_id);

// INVALID_ARGUMENT if `principal` is longer than max_principal_bytes.
absl::Status ValidatePrincipal(absl::string_view principal, const ServiceLimits& limits);

// INVALID_ARGUMENT naming the label (`labels["device"]`) if there are more than --max_labels, or a
// key is empty, or a key or value is longer than --max_label_bytes.
absl::Status ValidateLabels(const google::protobuf::Map<std::string, std::string>& labels,
                            const ServiceLimits& limits);

// Which of a session's two timeouts.
enum class TimeoutKind { kIdle, kAbsolute };

// The `kind` timeout a CreateSession gets for `requested` under `limits`: its default when unset
// or zero, else the request truncated to milliseconds. INVALID_ARGUMENT naming the field
// (`idle_timeout`, `absolute_timeout`) if it is malformed, negative, under 1ms, or over the
// server's maximum (the flag `--max_idle_timeout` / `--max_absolute_timeout`); RESOURCE_EXHAUSTED
// naming the tenant's limit if it is over a maximum the tenant's own (--tenants_file):
// `idle_timeout: 2h is over tenant "shop"'s max_idle_timeout 1h (--tenants_file)`.
absl::StatusOr<absl::Duration> ResolveTimeout(const google::protobuf::Duration* requested,
                                              TimeoutKind kind, const ServiceLimits& limits);

// RESOURCE_EXHAUSTED naming the tenant's max_session_bytes if a request writes more than that many
// entry bytes (`bytes`: keys plus values) in `field`; OK when limits.tenant_max_session_bytes is 0.
absl::Status ValidateTenantBytes(size_t bytes, absl::string_view field,
                                 const ServiceLimits& limits);

// The name of a tenant's limit `name` in messages: `tenant "shop"'s max_idle_timeout
// (--tenants_file)`.
std::string TenantLimitName(absl::string_view tenant, absl::string_view name);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_REQUEST_VALIDATION_H_
