// list_sessions_bench: loads a store (any backend, opened from the same flags as sessiond's:
// --store, --data_dir, --durability, ...) with --sessions sessions in principals of
// --per_principal each, then times --lists ListSessions calls of one page of a random principal,
// and prints one JSON line: load time, latency percentiles, and the store's index size.
//
// It calls the Store directly, without gRPC, so that what it shows is how ListSessions scales with
// the store's size; an rpc adds the same constant to every figure (docs/PERFORMANCE.md).
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/random/random.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/loadgen/histogram.h"
#include "storage/open_store.h"
#include "storage/store.h"

ABSL_FLAG(int64_t, sessions, 1'000'000, "sessions to load before measuring");
ABSL_FLAG(int64_t, per_principal, 10, "sessions per principal (each page lists this many)");
ABSL_FLAG(int64_t, lists, 200'000, "ListSessions calls to time");
ABSL_FLAG(int, load_threads, 2, "threads creating sessions while loading");
ABSL_FLAG(std::string, label, "", "a name for this run, copied into the output");

namespace sessiond::bench {
namespace {

// Session ids of one length whatever n is, as the service's are.
std::string IdOf(int64_t n) { return absl::StrFormat("bench%027d", n); }
std::string PrincipalOf(int64_t principal) { return absl::StrFormat("user-%d", principal); }

// Creates sessions [0, count) on `threads` threads; false (after printing why) on the first error.
bool Load(storage::Store& store, int64_t count, int64_t per_principal, int threads) {
  std::vector<std::thread> loaders;
  std::atomic<bool> failed{false};
  for (int t = 0; t < threads; ++t) {
    loaders.emplace_back([&, t] {
      for (int64_t n = t; n < count && !failed.load(std::memory_order_relaxed); n += threads) {
        storage::NewSession session;
        session.id = IdOf(n);
        session.principal = PrincipalOf(n / per_principal);
        session.idle_timeout = absl::Hours(1);
        session.absolute_timeout = absl::Hours(12);
        session.labels = {{"device", "laptop"}};
        if (absl::Status status = store.Create(std::move(session)).status(); !status.ok()) {
          std::fprintf(stderr, "list_sessions_bench: loading session %lld: %s\n",
                       static_cast<long long>(n), std::string(status.message()).c_str());
          failed = true;
        }
      }
    });
  }
  for (std::thread& loader : loaders) loader.join();
  return !failed;
}

int Run() {
  const int64_t sessions = absl::GetFlag(FLAGS_sessions);
  const int64_t per_principal = absl::GetFlag(FLAGS_per_principal);
  const int64_t principals = sessions / per_principal;
  if (sessions <= 0 || per_principal <= 0 || principals == 0) {
    std::fprintf(stderr, "list_sessions_bench: --sessions must be at least --per_principal\n");
    return 2;
  }
  storage::SessionLimits limits;
  limits.max_keys = 16;
  absl::StatusOr<std::unique_ptr<storage::Store>> store =
      storage::OpenStore(storage::SelectedBackend(), limits);
  if (!store.ok()) {
    std::fprintf(stderr, "list_sessions_bench: %s\n", store.status().ToString().c_str());
    return 1;
  }
  const absl::Time load_start = absl::Now();
  if (!Load(**store, sessions, per_principal, absl::GetFlag(FLAGS_load_threads))) return 1;
  const double load_seconds = absl::ToDoubleSeconds(absl::Now() - load_start);

  absl::BitGen random;
  LatencyHistogram latency;
  for (int64_t i = 0; i < absl::GetFlag(FLAGS_lists); ++i) {
    const std::string principal = PrincipalOf(absl::Uniform<int64_t>(random, 0, principals));
    const absl::Time start = absl::Now();
    absl::StatusOr<storage::SessionPage> page =
        (*store)->ListSessions(principal, static_cast<size_t>(per_principal), "");
    latency.Record(absl::ToInt64Nanoseconds(absl::Now() - start));
    if (!page.ok() || page->sessions.size() != static_cast<size_t>(per_principal)) {
      std::fprintf(stderr, "list_sessions_bench: ListSessions(%s) gave %s\n", principal.c_str(),
                   page.ok() ? absl::StrFormat("%d sessions", page->sessions.size()).c_str()
                             : page.status().ToString().c_str());
      return 1;
    }
  }
  const storage::StoreStats stats = (*store)->Stats();
  std::printf(
      "{\"label\":\"%s\",\"store\":\"%s\",\"sessions\":%lld,\"per_principal\":%lld,"
      "\"load_seconds\":%.1f,\"lists\":%lld,\"p50_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,"
      "\"mean_us\":%.2f,\"index_entries\":%zu}\n",
      absl::GetFlag(FLAGS_label).c_str(), storage::SelectedBackend().c_str(),
      static_cast<long long>(sessions), static_cast<long long>(per_principal), load_seconds,
      static_cast<long long>(latency.count()), latency.Percentile(0.5) / 1e3,
      latency.Percentile(0.99) / 1e3, latency.Percentile(0.999) / 1e3, latency.mean() / 1e3,
      stats.principal_index_entries);
  return 0;
}

}  // namespace
}  // namespace sessiond::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "times ListSessions on a store loaded with --sessions sessions (docs/PERFORMANCE.md)");
  absl::ParseCommandLine(argc, argv);
  return sessiond::bench::Run();
}
