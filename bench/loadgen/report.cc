#include "bench/loadgen/report.h"

#include <cmath>
#include <cstdint>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace sessiond::bench {
namespace {

// Builds one JSON object, member by member.
class JsonObject {
 public:
  JsonObject& Raw(absl::string_view key, absl::string_view json) {
    absl::StrAppend(&body_, body_.empty() ? "" : ",", Quote(key), ":", json);
    return *this;
  }
  JsonObject& String(absl::string_view key, absl::string_view value) {
    return Raw(key, Quote(value));
  }
  JsonObject& Integer(absl::string_view key, int64_t value) {
    return Raw(key, absl::StrCat(value));
  }
  // Null if unset or not finite.
  JsonObject& Number(absl::string_view key, std::optional<double> value) {
    return Raw(
        key, value.has_value() && std::isfinite(*value) ? absl::StrFormat("%.6g", *value) : "null");
  }
  std::string Close() const { return absl::StrCat("{", body_, "}"); }

 private:
  static std::string Quote(absl::string_view text) {
    std::string quoted = "\"";
    for (char c : text) {
      if (c == '"' || c == '\\') quoted.push_back('\\');
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
      quoted.push_back(c);
    }
    quoted.push_back('"');
    return quoted;
  }

  std::string body_;
};

// The figures derived from a phase's samples.
struct Figures {
  double seconds = 0;
  double ops_per_s = 0;
  std::optional<double> server_cpu_us_per_op;
  std::optional<double> server_cpu_util;
  double client_cpu_us_per_op = 0;
  double client_cpu_util = 0;
  std::optional<double> server_rss_bytes_per_op;
  std::optional<double> store_bytes_per_op;
  std::optional<double> backend_cpu_us_per_op;
  std::optional<double> near_cache_hit_ratio;
};

template <typename T>
std::optional<double> Growth(const std::optional<T>& before, const std::optional<T>& after) {
  if (!before.has_value() || !after.has_value()) return std::nullopt;
  return static_cast<double>(*after - *before);
}

Figures FiguresOf(const PhaseReport& phase) {
  Figures figures;
  const double ops = static_cast<double>(phase.loop.ok_ops);
  figures.seconds = absl::ToDoubleSeconds(phase.loop.window);
  figures.ops_per_s = figures.seconds > 0 ? ops / figures.seconds : 0;
  const double client_cpu = phase.after.client_cpu_seconds - phase.before.client_cpu_seconds;
  figures.client_cpu_us_per_op = client_cpu * 1e6 / ops;
  figures.client_cpu_util = client_cpu / figures.seconds;
  if (std::optional<double> cpu =
          Growth(phase.before.server_cpu_seconds, phase.after.server_cpu_seconds)) {
    figures.server_cpu_us_per_op = *cpu * 1e6 / ops;
    figures.server_cpu_util = *cpu / figures.seconds;
  }
  if (std::optional<double> rss =
          Growth(phase.before.server_rss_bytes, phase.after.server_rss_bytes)) {
    figures.server_rss_bytes_per_op = *rss / ops;
  }
  if (std::optional<double> cpu =
          Growth(phase.before.backend_cpu_seconds, phase.after.backend_cpu_seconds)) {
    figures.backend_cpu_us_per_op = *cpu * 1e6 / ops;
  }
  if (std::optional<double> store = Growth(phase.before.store_bytes, phase.after.store_bytes)) {
    figures.store_bytes_per_op = *store / ops;
  }
  if (phase.before.near_cache.has_value() && phase.after.near_cache.has_value()) {
    const double hits = phase.after.near_cache->hits - phase.before.near_cache->hits;
    const double misses = phase.after.near_cache->misses - phase.before.near_cache->misses;
    if (hits + misses > 0) figures.near_cache_hit_ratio = hits / (hits + misses);
  }
  return figures;
}

double Micros(int64_t nanos) { return static_cast<double>(nanos) / 1e3; }

std::string PhaseJson(const PhaseReport& phase) {
  const Figures figures = FiguresOf(phase);
  const LatencyHistogram& latency = phase.loop.latency;
  JsonObject errors;
  for (const auto& [name, count] : phase.loop.errors) errors.Integer(name, count);
  return JsonObject()
      .Integer("ops", phase.loop.ok_ops)
      .Number("seconds", figures.seconds)
      .Number("ops_per_s", figures.ops_per_s)
      .Number("p50_us", Micros(latency.Percentile(0.5)))
      .Number("p99_us", Micros(latency.Percentile(0.99)))
      .Number("p999_us", Micros(latency.Percentile(0.999)))
      .Number("max_us", Micros(latency.max()))
      .Number("mean_us", latency.mean() / 1e3)
      .Raw("errors", errors.Close())
      .Integer("cancelled", phase.loop.cancelled)
      .Number("lag_ms", absl::ToDoubleMilliseconds(phase.loop.lag))
      .Number("server_cpu_us_per_op", figures.server_cpu_us_per_op)
      .Number("server_cpu_util", figures.server_cpu_util)
      .Number("client_cpu_us_per_op", figures.client_cpu_us_per_op)
      .Number("client_cpu_util", figures.client_cpu_util)
      .Number("server_rss_bytes_per_op", figures.server_rss_bytes_per_op)
      .Number("store_bytes_per_op", figures.store_bytes_per_op)
      .Number("backend_cpu_us_per_op", figures.backend_cpu_us_per_op)
      .Number("near_cache_hit_ratio", figures.near_cache_hit_ratio)
      .Close();
}

std::string ErrorsText(const LoopResult& loop) {
  if (loop.errors.empty() && loop.cancelled == 0) return "no errors";
  std::string text = absl::StrJoin(loop.errors, " ", absl::PairFormatter("="));
  if (loop.cancelled > 0) absl::StrAppend(&text, " cancelled=", loop.cancelled);
  return text;
}

std::string OptionalText(const char* format, std::optional<double> value) {
  return value.has_value() ? absl::StrFormat(format, *value) : "n/a";
}

}  // namespace

std::string JsonReport(const BenchmarkOptions& options, const BenchmarkReport& report,
                       absl::string_view label) {
  JsonObject json;
  json.String("label", label)
      .String("target", options.target)
      .String("scenario", OpName(options.op))
      .String("loop", options.rate > 0 ? "open" : "closed")
      .Number("rate", options.rate)
      .Integer("in_flight", options.in_flight)
      .Integer("channels", options.target == "grpc" ? options.channels : options.in_flight)
      .Integer("sessions", static_cast<int64_t>(options.sessions))
      .String("client_cpus", report.client_cpus)
      .String("server_cpus", report.server_cpus);
  if (report.load.has_value()) json.Raw("load", PhaseJson(*report.load));
  if (report.run.has_value()) json.Raw("run", PhaseJson(*report.run));
  return json.Close();
}

std::string HumanReport(const BenchmarkOptions& options, const BenchmarkReport& report,
                        absl::string_view label) {
  std::string text = absl::StrCat("[", label, "] ", options.target, " ", OpName(options.op));
  if (report.load.has_value()) {
    const Figures load = FiguresOf(*report.load);
    absl::StrAppendFormat(&text,
                          " | loaded %d sessions in %.1f s (%.0f/s), server RSS %s B/session",
                          report.load->loop.ok_ops, load.seconds, load.ops_per_s,
                          OptionalText("%+.0f", load.server_rss_bytes_per_op));
    if (load.store_bytes_per_op.has_value()) {
      absl::StrAppendFormat(&text, ", used_memory %+.0f B/session", *load.store_bytes_per_op);
    }
    absl::StrAppend(&text, ", ", ErrorsText(report.load->loop));
  }
  if (report.run.has_value()) {
    const Figures run = FiguresOf(*report.run);
    const LatencyHistogram& latency = report.run->loop.latency;
    absl::StrAppendFormat(&text, " | %s loop", options.rate > 0 ? "open" : "closed");
    if (options.rate > 0) absl::StrAppendFormat(&text, " at %.0f/s", options.rate);
    absl::StrAppendFormat(
        &text,
        ", %d in flight: %.0f ops/s, p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms; server %s us/op "
        "(%s cores, CPUs %s), client %.1f us/op (CPUs %s); %s",
        options.in_flight, run.ops_per_s, Micros(latency.Percentile(0.5)) / 1e3,
        Micros(latency.Percentile(0.99)) / 1e3, Micros(latency.Percentile(0.999)) / 1e3,
        OptionalText("%.1f", run.server_cpu_us_per_op), OptionalText("%.2f", run.server_cpu_util),
        report.server_cpus.empty() ? "?" : report.server_cpus, run.client_cpu_us_per_op,
        report.client_cpus, ErrorsText(report.run->loop));
    if (run.near_cache_hit_ratio.has_value()) {
      absl::StrAppendFormat(&text, "; near cache hits %.1f%%", 100 * *run.near_cache_hit_ratio);
    }
  }
  return text;
}

}  // namespace sessiond::bench
