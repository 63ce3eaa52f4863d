#include "service/server_flags.h"

#include <unistd.h>

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

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "host:port to serve gRPC on; port 0 picks one");
ABSL_FLAG(std::string, port_file, "",
          "if set, the bound port is written to this file once serving (for scripts and tests)");
ABSL_FLAG(std::string, store, "memory",
          "storage backend: memory (nothing survives a restart) or rocksdb (durable; --data_dir)");
ABSL_FLAG(std::string, data_dir, "", "rocksdb: the database directory (created if missing)");
ABSL_FLAG(uint64_t, min_free_disk_bytes, uint64_t{128} << 20,
          "rocksdb: writes get RESOURCE_EXHAUSTED while less than this is free on --data_dir's "
          "filesystem (room for flushes and compactions); they resume once space is freed");
ABSL_FLAG(uint64_t, blocking_threads, 64,
          "rocksdb, --durability=sync: threads that run requests, so that many can wait for the "
          "disk at once and share its fsyncs");
ABSL_FLAG(std::string, durability, "sync",
          "rocksdb: sync (an acknowledged write is fsynced: survives power loss) or async (written "
          "to the OS, not fsynced: survives kill -9, may lose the last writes on power loss)");
ABSL_FLAG(uint64_t, max_memory_bytes, 0,
          "memory store cap on session memory; new sessions beyond it get RESOURCE_EXHAUSTED. "
          "0: half of the machine's physical memory");
ABSL_FLAG(uint64_t, max_key_bytes, 256, "longest key, in bytes");
ABSL_FLAG(uint64_t, max_value_bytes, 256 * 1024, "largest value, in bytes");
ABSL_FLAG(uint64_t, max_keys, 1024, "most keys in one session");
ABSL_FLAG(uint64_t, max_session_bytes, 1024 * 1024, "largest session: sum of key and value bytes");
ABSL_FLAG(absl::Duration, idle_timeout, absl::Minutes(20),
          "idle (sliding) timeout of a session that does not ask for one");
ABSL_FLAG(absl::Duration, max_idle_timeout, absl::Minutes(20),
          "longest idle timeout a session may ask for");
ABSL_FLAG(absl::Duration, absolute_timeout, absl::Hours(12),
          "absolute lifetime of a session that does not ask for one");
ABSL_FLAG(absl::Duration, max_absolute_timeout, absl::Hours(12),
          "longest absolute lifetime a session may ask for");
ABSL_FLAG(uint64_t, max_message_bytes, 4 * 1024 * 1024,
          "largest request message; larger ones fail with RESOURCE_EXHAUSTED");
ABSL_FLAG(absl::Duration, sweep_interval, absl::Seconds(1),
          "how often expired sessions are reclaimed");
ABSL_FLAG(absl::Duration, drain_grace, absl::Seconds(5),
          "on SIGTERM, how long to keep serving while health reports NOT_SERVING");
ABSL_FLAG(absl::Duration, shutdown_timeout, absl::Seconds(10),
          "on SIGTERM, after the grace period, how long in-flight calls may take to finish");

namespace sessiond::service {
namespace {

constexpr char kEnvPrefix[] = "SESSIOND_";

// True for the flags defined in this file. Abseil records a flag's file as the compiler named it,
// less a leading "/", so compare the end.
bool IsServerFlag(absl::string_view file) {
  return absl::EndsWith(file, "service/server_flags.cc");
}

std::string EnvName(absl::string_view flag) {
  std::string name = kEnvPrefix;
  for (char c : flag)
    name.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return name;
}

// Sets every flag defined in this file from its SESSIOND_* variable, if present.
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

size_t HalfOfPhysicalMemory() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  return pages > 0 && page_size > 0 ? static_cast<size_t>(pages) * page_size / 2 : 0;
}

absl::Status CheckTimeout(absl::string_view name, absl::Duration value, absl::Duration max) {
  if (value <= absl::ZeroDuration() || value > max) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, "=", absl::FormatDuration(value),
                                                   " must be positive and at most its maximum ",
                                                   absl::FormatDuration(max)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Server::Options> ServerOptionsFromCommandLine(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "sessiond: a gRPC session service. Every flag can also be set as SESSIOND_<FLAG>.");
  // --help lists the flags of this file (by default Abseil looks for a file named after the
  // binary, and finds none).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = IsServerFlag;
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  if (absl::Status status = ApplyEnvironment(); !status.ok()) return status;
  absl::ParseCommandLine(argc, argv);

  Server::Options options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.port_file = absl::GetFlag(FLAGS_port_file);
  StoreConfig& store = options.store;
  store.backend = absl::GetFlag(FLAGS_store);
  store.max_memory_bytes = absl::GetFlag(FLAGS_max_memory_bytes);
  if (store.max_memory_bytes == 0) store.max_memory_bytes = HalfOfPhysicalMemory();
  store.data_dir = absl::GetFlag(FLAGS_data_dir);
  store.min_free_disk_bytes = absl::GetFlag(FLAGS_min_free_disk_bytes);
  options.blocking_threads = absl::GetFlag(FLAGS_blocking_threads);
  const std::string durability = absl::GetFlag(FLAGS_durability);
  if (durability == "sync") {
    store.durability = storage::Durability::kSync;
  } else if (durability == "async") {
    store.durability = storage::Durability::kAsync;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--durability=", durability, " must be sync or async"));
  }
  ServiceLimits& limits = options.limits;
  limits.max_key_bytes = absl::GetFlag(FLAGS_max_key_bytes);
  limits.max_value_bytes = absl::GetFlag(FLAGS_max_value_bytes);
  limits.session.max_keys = absl::GetFlag(FLAGS_max_keys);
  limits.session.max_session_bytes = absl::GetFlag(FLAGS_max_session_bytes);
  limits.default_idle_timeout = absl::GetFlag(FLAGS_idle_timeout);
  limits.max_idle_timeout = absl::GetFlag(FLAGS_max_idle_timeout);
  limits.default_absolute_timeout = absl::GetFlag(FLAGS_absolute_timeout);
  limits.max_absolute_timeout = absl::GetFlag(FLAGS_max_absolute_timeout);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.sweep_interval = absl::GetFlag(FLAGS_sweep_interval);
  options.drain_grace = absl::GetFlag(FLAGS_drain_grace);
  options.shutdown_timeout = absl::GetFlag(FLAGS_shutdown_timeout);

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
    return absl::InvalidArgumentError("--max_message_bytes must be below 2 GiB");
  }
  return options;
}

}  // namespace sessiond::service
