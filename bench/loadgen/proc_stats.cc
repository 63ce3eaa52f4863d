#include "bench/loadgen/proc_stats.h"

#include <dirent.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace sessiond::bench {
namespace {

absl::StatusOr<std::string> ReadProcFile(pid_t pid, absl::string_view name) {
  const std::string path = absl::StrCat("/proc/", pid, "/", name);
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

double TimevalSeconds(const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; }

// Indexes into StatFields: /proc/PID/stat's fields after "(comm) state", numbered from ppid (the
// 4th field of the line) on.
constexpr size_t kParent = 0, kUtime = 10, kStime = 11, kChildrenUtime = 12, kChildrenStime = 13;

// The numeric fields of /proc/PID/stat from ppid to cstime. comm may hold spaces, so they are
// counted after the last ')'.
absl::StatusOr<std::vector<int64_t>> StatFields(pid_t pid) {
  absl::StatusOr<std::string> stat = ReadProcFile(pid, "stat");
  if (!stat.ok()) return stat.status();
  const size_t comm_end = stat->rfind(')');
  if (comm_end == std::string::npos) return absl::InternalError("unexpected /proc/PID/stat");
  const std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(*stat).substr(comm_end + 2), ' ');
  std::vector<int64_t> numbers(kChildrenStime + 1);
  for (size_t i = 0; i < numbers.size(); ++i) {
    if (i + 1 >= fields.size() || !absl::SimpleAtoi(fields[i + 1], &numbers[i])) {
      return absl::InternalError("unexpected /proc/PID/stat");
    }
  }
  return numbers;
}

}  // namespace

absl::StatusOr<double> ProcessCpuSeconds(pid_t pid) {
  absl::StatusOr<std::vector<int64_t>> stat = StatFields(pid);
  if (!stat.ok()) return stat.status();
  return static_cast<double>((*stat)[kUtime] + (*stat)[kStime]) / sysconf(_SC_CLK_TCK);
}

absl::StatusOr<double> ProcessTreeCpuSeconds(pid_t pid) {
  absl::StatusOr<std::vector<int64_t>> stat = StatFields(pid);
  if (!stat.ok()) return stat.status();
  int64_t ticks =
      (*stat)[kUtime] + (*stat)[kStime] + (*stat)[kChildrenUtime] + (*stat)[kChildrenStime];
  if (DIR* proc = opendir("/proc")) {
    while (const dirent* entry = readdir(proc)) {
      pid_t child = 0;
      if (!absl::SimpleAtoi(entry->d_name, &child)) continue;
      absl::StatusOr<std::vector<int64_t>> child_stat = StatFields(child);
      if (!child_stat.ok() || (*child_stat)[kParent] != pid) continue;
      ticks += (*child_stat)[kUtime] + (*child_stat)[kStime] + (*child_stat)[kChildrenUtime] +
               (*child_stat)[kChildrenStime];
    }
    closedir(proc);
  }
  return static_cast<double>(ticks) / sysconf(_SC_CLK_TCK);
}

absl::StatusOr<int64_t> ProcessRssBytes(pid_t pid) {
  absl::StatusOr<std::string> status = ReadProcFile(pid, "status");
  if (!status.ok()) return status.status();
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    if (!absl::ConsumePrefix(&line, "VmRSS:")) continue;
    int64_t kib = 0;
    if (!absl::SimpleAtoi(absl::StripSuffix(absl::StripAsciiWhitespace(line), " kB"), &kib)) break;
    return kib * 1024;
  }
  return absl::InternalError("no VmRSS in /proc/PID/status");
}

std::string CpuAffinity(pid_t pid) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(pid, sizeof(set), &set) != 0) return "";
  std::vector<std::string> ranges;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    int last = cpu;
    while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set)) ++last;
    ranges.push_back(last == cpu ? absl::StrCat(cpu) : absl::StrCat(cpu, "-", last));
    cpu = last;
  }
  return absl::StrJoin(ranges, ",");
}

double SelfCpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return TimevalSeconds(usage.ru_utime) + TimevalSeconds(usage.ru_stime);
}

}  // namespace sessiond::bench
