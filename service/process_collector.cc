#include "service/process_collector.h"

#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sessiond::service {
namespace {

void AddValue(std::vector<prometheus::MetricFamily>& families, const std::string& name,
              const std::string& help, prometheus::MetricType type, std::optional<double> value) {
  if (!value.has_value()) return;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = *value;
  } else {
    metric.gauge.value = *value;
  }
  families.push_back({name, help, type, {metric}});
}

std::optional<std::string> ReadFile(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Fields of /proc/self/stat after the command name (which may hold spaces): field 3 is [0].
std::optional<std::vector<std::string>> StatFields() {
  std::optional<std::string> stat = ReadFile("/proc/self/stat");
  if (!stat.has_value()) return std::nullopt;
  const size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  return absl::StrSplit(absl::string_view(*stat).substr(close + 2), ' ', absl::SkipEmpty());
}

std::optional<double> StatField(const std::vector<std::string>& fields, size_t number) {
  double value;
  if (number < 3 || number - 3 >= fields.size() || !absl::SimpleAtod(fields[number - 3], &value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<double> ResidentBytes() {
  std::optional<std::string> status = ReadFile("/proc/self/status");
  if (!status.has_value()) return std::nullopt;
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    if (!absl::ConsumePrefix(&line, "VmRSS:")) continue;
    double kib;
    line = absl::StripSuffix(absl::StripAsciiWhitespace(line), " kB");
    if (absl::SimpleAtod(line, &kib)) return kib * 1024;
  }
  return std::nullopt;
}

std::optional<double> BootTimeSeconds() {
  std::optional<std::string> stat = ReadFile("/proc/stat");
  if (!stat.has_value()) return std::nullopt;
  for (absl::string_view line : absl::StrSplit(*stat, '\n')) {
    double seconds;
    if (absl::ConsumePrefix(&line, "btime ") && absl::SimpleAtod(line, &seconds)) return seconds;
  }
  return std::nullopt;
}

std::optional<double> OpenDescriptors() {
  std::error_code error;
  double count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
       it.increment(error)) {
    ++count;
  }
  if (error) return std::nullopt;
  return count;
}

std::optional<double> MaxDescriptors() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return std::nullopt;
  return static_cast<double>(limit.rlim_cur);
}

// Bytes in the directory's files ending in `suffix`.
std::optional<double> FileBytes(const std::string& dir, const std::string& suffix) {
  std::error_code error;
  double bytes = 0;
  for (std::filesystem::directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    if (it->path().extension() != suffix) continue;
    std::error_code size_error;
    const uintmax_t size = it->file_size(size_error);
    if (!size_error) bytes += static_cast<double>(size);
  }
  if (error) return std::nullopt;
  return bytes;
}

std::optional<double> FreeBytes(const std::string& dir) {
  struct statvfs fs;
  if (statvfs(dir.c_str(), &fs) != 0) return std::nullopt;
  return static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize);
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;
  AddValue(families, "process_resident_memory_bytes", "Resident memory size in bytes",
           MetricType::Gauge, ResidentBytes());
  AddValue(families, "process_open_fds", "Open file descriptors", MetricType::Gauge,
           OpenDescriptors());
  AddValue(families, "process_max_fds", "Most file descriptors the process may open",
           MetricType::Gauge, MaxDescriptors());
  if (std::optional<std::vector<std::string>> fields = StatFields(); fields.has_value()) {
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    std::optional<double> user = StatField(*fields, 14);
    std::optional<double> system = StatField(*fields, 15);
    if (user.has_value() && system.has_value()) {
      AddValue(families, "process_cpu_seconds_total", "User and system CPU time spent in seconds",
               MetricType::Counter, (*user + *system) / ticks);
    }
    std::optional<double> started = StatField(*fields, 22);
    std::optional<double> boot = BootTimeSeconds();
    if (started.has_value() && boot.has_value()) {
      AddValue(families, "process_start_time_seconds",
               "Start time of the process since the Unix epoch in seconds", MetricType::Gauge,
               *boot + *started / ticks);
    }
  }
  if (!data_dir_.empty()) {
    AddValue(families, "sessiond_rocksdb_wal_bytes", "Bytes of RocksDB write-ahead log files",
             MetricType::Gauge, FileBytes(data_dir_, ".log"));
    AddValue(families, "sessiond_rocksdb_sst_bytes", "Bytes of RocksDB table (SST) files",
             MetricType::Gauge, FileBytes(data_dir_, ".sst"));
    AddValue(families, "sessiond_data_dir_free_bytes",
             "Free bytes on the file system of --data_dir", MetricType::Gauge,
             FreeBytes(data_dir_));
  }
  return families;
}

}  // namespace sessiond::service
