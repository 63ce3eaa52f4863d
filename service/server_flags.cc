#include "service/server_flags.h"

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "service/security_flags.h"
#include "storage/byte_size.h"
#include "storage/open_store.h"

// Every default comes from Server::Options or ServiceLimits, so the flags and the structs cannot
// disagree. --store and the backends' flags live beside the backends (storage/open_store.cc,
// storage/*_flags.cc).
namespace {
const sessiond::service::Server::Options kDefaults;
const sessiond::service::ServiceLimits kLimits;
using sessiond::storage::ByteSize;
}  // namespace

ABSL_FLAG(std::string, listen, kDefaults.listen_address,
          "host:port to serve gRPC on; port 0 picks one");
ABSL_FLAG(std::string, port_file, kDefaults.port_file,
          "if set, the bound port is written to this file once serving (for scripts and tests)");
ABSL_FLAG(uint64_t, blocking_threads, kDefaults.blocking_threads,
          "rocksdb, --durability=sync: threads that run requests, so that many can wait for the "
          "disk at once and share its fsyncs");
ABSL_FLAG(uint64_t, max_queued_requests, kDefaults.max_queued_requests,
          "rocksdb, --durability=sync: requests that may wait for a thread; more get "
          "RESOURCE_EXHAUSTED (the server is overloaded)");
ABSL_FLAG(ByteSize, max_key_bytes, {kLimits.max_key_bytes}, "longest key");
ABSL_FLAG(ByteSize, max_value_bytes, {kLimits.max_value_bytes}, "largest value");
ABSL_FLAG(uint64_t, max_keys, kLimits.session.max_keys, "most keys in one session");
ABSL_FLAG(ByteSize, max_principal_bytes, {kLimits.max_principal_bytes}, "longest principal");
ABSL_FLAG(uint64_t, max_labels, kLimits.max_labels, "most labels on one session");
ABSL_FLAG(uint64_t, max_batch_operations, kLimits.max_batch_operations,
          "most operations in one Batch call");
ABSL_FLAG(absl::Duration, near_cache_lease, kLimits.near_cache_lease,
          "how long a client's near cache may serve sessions after its last granted lease "
          "(WatchInvalidations), and the most Delete and RevokeSessions wait for near caches");
ABSL_FLAG(ByteSize, max_label_bytes, {kLimits.max_label_bytes},
          "longest label key, and longest label value");
ABSL_FLAG(uint64_t, max_sessions_per_principal, kLimits.session.max_sessions_per_principal,
          "most live sessions one principal may have; 0: no limit");
ABSL_FLAG(std::string, principal_cap_policy, "reject_new",
          "at --max_sessions_per_principal: reject_new (RESOURCE_EXHAUSTED) or evict_oldest (the "
          "principal's least recently used session ends)");
ABSL_FLAG(absl::Duration, gone_retention, kLimits.session.gone_retention,
          "how long NOT_FOUND remembers why a session ended (expired, deleted, revoked, evicted, "
          "rotated); 0: never");
ABSL_FLAG(uint64_t, event_retention, kLimits.session.event_retention,
          "session events kept for WatchSessions to resume from");
ABSL_FLAG(bool, watch_touches, kLimits.session.record_touches,
          "also record renewals without a change (Touch, Get) as TOUCHED events");
ABSL_FLAG(absl::Duration, idempotency_window, kLimits.session.idempotency_window,
          "how long a successful mutation's request_id is remembered: a retry with it within the "
          "window applies nothing and returns the first outcome");
ABSL_FLAG(uint64_t, max_request_ids, kLimits.session.max_request_ids,
          "most request_ids one session remembers; past it the oldest is forgotten early");
ABSL_FLAG(ByteSize, max_session_bytes, {kLimits.session.max_session_bytes},
          "largest session: sum of key and value bytes");
ABSL_FLAG(absl::Duration, idle_timeout, kLimits.default_idle_timeout,
          "idle (sliding) timeout of a session that does not ask for one");
ABSL_FLAG(absl::Duration, max_idle_timeout, kLimits.max_idle_timeout,
          "longest idle timeout a session may ask for");
ABSL_FLAG(absl::Duration, absolute_timeout, kLimits.default_absolute_timeout,
          "absolute lifetime of a session that does not ask for one");
ABSL_FLAG(absl::Duration, max_absolute_timeout, kLimits.max_absolute_timeout,
          "longest absolute lifetime a session may ask for");
ABSL_FLAG(ByteSize, max_message_bytes, {kDefaults.max_message_bytes},
          "largest request message; larger ones fail with RESOURCE_EXHAUSTED; 0: what "
          "--max_session_bytes and --max_keys need (the session's bytes, 32 per key, 64KiB)");
ABSL_FLAG(absl::Duration, sweep_interval, kDefaults.sweep_interval,
          "how often expired sessions are reclaimed");
ABSL_FLAG(absl::Duration, drain_grace, kDefaults.drain_grace,
          "on SIGTERM, how long to keep serving while health reports NOT_SERVING");
ABSL_FLAG(absl::Duration, shutdown_timeout, kDefaults.shutdown_timeout,
          "on SIGTERM, after the grace period, how long in-flight calls may take to finish");

namespace sessiond::service {
namespace {

constexpr char kEnvPrefix[] = "SESSIOND_";

// True for sessiond's own flags: those defined in this repository's service/ and storage/ (the
// backends' flags live beside them). Abseil records a flag's file as the compiler named it, less
// a leading "/"; this file's own name gives the repository's root in the same form.
bool IsServerFlag(absl::string_view file) {
  static const absl::string_view root = [] {
    absl::string_view self = absl::StripPrefix(__FILE__, "/");
    self.remove_suffix(absl::string_view("service/server_flags.cc").size());
    return self;
  }();
  return absl::StartsWith(file, absl::StrCat(root, "service/")) ||
         absl::StartsWith(file, absl::StrCat(root, "storage/"));
}

std::string EnvName(absl::string_view flag) {
  std::string name = kEnvPrefix;
  for (char c : flag)
    name.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return name;
}

// Sets every sessiond flag from its SESSIOND_* variable, if present.
absl::Status ApplyEnvironment() {
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!IsServerFlag(flag->Filename())) continue;
    const char* value = std::getenv(EnvName(name).c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(EnvName(name), ": ", error));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckTimeout(absl::string_view name, absl::Duration value, absl::Duration max) {
  if (value <= absl::ZeroDuration() || value > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", name, "=", absl::FormatDuration(value), " must be positive and at most its maximum ",
        absl::FormatDuration(max), " (--max_", name, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Server::Options> ServerOptionsFromCommandLine(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "sessiond: a gRPC session service. Every flag can also be set as SESSIOND_<FLAG>.");
  // --help lists sessiond's flags (by default Abseil looks for a file named after the binary, and
  // finds none).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = IsServerFlag;
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  if (absl::Status status = ApplyEnvironment(); !status.ok()) return status;
  absl::ParseCommandLine(argc, argv);

  Server::Options options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.port_file = absl::GetFlag(FLAGS_port_file);
  options.store = storage::SelectedBackend();
  options.open_store = &storage::OpenStore;
  options.blocking_threads = absl::GetFlag(FLAGS_blocking_threads);
  options.max_queued_requests = absl::GetFlag(FLAGS_max_queued_requests);
  ServiceLimits& limits = options.limits;
  limits.max_key_bytes = absl::GetFlag(FLAGS_max_key_bytes).bytes;
  limits.max_value_bytes = absl::GetFlag(FLAGS_max_value_bytes).bytes;
  limits.max_principal_bytes = absl::GetFlag(FLAGS_max_principal_bytes).bytes;
  limits.max_labels = absl::GetFlag(FLAGS_max_labels);
  limits.max_batch_operations = absl::GetFlag(FLAGS_max_batch_operations);
  limits.max_label_bytes = absl::GetFlag(FLAGS_max_label_bytes).bytes;
  limits.near_cache_lease = absl::GetFlag(FLAGS_near_cache_lease);
  limits.session.max_sessions_per_principal = absl::GetFlag(FLAGS_max_sessions_per_principal);
  const std::string policy = absl::GetFlag(FLAGS_principal_cap_policy);
  if (policy == "reject_new") {
    limits.session.principal_cap_policy = storage::PrincipalCapPolicy::kRejectNew;
  } else if (policy == "evict_oldest") {
    limits.session.principal_cap_policy = storage::PrincipalCapPolicy::kEvictOldest;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--principal_cap_policy=", policy, " is not a policy; use reject_new or evict_oldest"));
  }
  limits.session.gone_retention = absl::GetFlag(FLAGS_gone_retention);
  limits.session.event_retention = absl::GetFlag(FLAGS_event_retention);
  limits.session.record_touches = absl::GetFlag(FLAGS_watch_touches);
  limits.session.max_keys = absl::GetFlag(FLAGS_max_keys);
  limits.session.idempotency_window = absl::GetFlag(FLAGS_idempotency_window);
  limits.session.max_request_ids = absl::GetFlag(FLAGS_max_request_ids);
  limits.session.max_session_bytes = absl::GetFlag(FLAGS_max_session_bytes).bytes;
  limits.default_idle_timeout = absl::GetFlag(FLAGS_idle_timeout);
  limits.max_idle_timeout = absl::GetFlag(FLAGS_max_idle_timeout);
  limits.default_absolute_timeout = absl::GetFlag(FLAGS_absolute_timeout);
  limits.max_absolute_timeout = absl::GetFlag(FLAGS_max_absolute_timeout);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes).bytes;
  options.sweep_interval = absl::GetFlag(FLAGS_sweep_interval);
  options.drain_grace = absl::GetFlag(FLAGS_drain_grace);
  options.shutdown_timeout = absl::GetFlag(FLAGS_shutdown_timeout);
  ApplySecurityFlags(options);

  if (absl::Status status =
          CheckTimeout("idle_timeout", limits.default_idle_timeout, limits.max_idle_timeout);
      !status.ok()) {
    return status;
  }
  if (absl::Status status = CheckTimeout("absolute_timeout", limits.default_absolute_timeout,
                                         limits.max_absolute_timeout);
      !status.ok()) {
    return status;
  }
  if (options.max_message_bytes > static_cast<uint64_t>(INT32_MAX)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_message_bytes=", options.max_message_bytes, " must be below 2GiB"));
  }
  if (limits.session.event_retention == 0) {
    return absl::InvalidArgumentError("--event_retention must be at least 1");
  }
  if (limits.session.gone_retention < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--gone_retention must not be negative");
  }
  if (limits.max_batch_operations == 0) {
    return absl::InvalidArgumentError("--max_batch_operations must be at least 1");
  }
  if (limits.near_cache_lease < absl::Milliseconds(10) ||
      limits.near_cache_lease > absl::Seconds(10)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--near_cache_lease=", absl::FormatDuration(limits.near_cache_lease),
                     " must be between 10ms and 10s"));
  }
  if (options.max_queued_requests == 0) {
    return absl::InvalidArgumentError("--max_queued_requests must be at least 1");
  }
  return options;
}

}  // namespace sessiond::service
