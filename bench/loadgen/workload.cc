#include "bench/loadgen/workload.h"

#include <array>

#include "absl/strings/str_cat.h"

namespace sessiond::bench {
namespace {

struct NamedOp {
  absl::string_view name;
  Op op;
};

constexpr std::array<NamedOp, 8> kOps = {{
    {"load", Op::kLoad},
    {"get", Op::kGet},
    {"commit", Op::kCommit},
    {"web", Op::kWeb},
    {"web-read-mostly", Op::kWebReadMostly},
    {"touch", Op::kTouch},
    {"churn", Op::kChurn},
    {"echo", Op::kEcho},
}};

}  // namespace

absl::StatusOr<Op> ParseOp(absl::string_view name) {
  for (const auto& [op_name, op] : kOps) {
    if (op_name == name) return op;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown scenario '", name,
                   "'; use load, get, commit, web, web-read-mostly, touch, churn or echo"));
}

absl::string_view OpName(Op op) {
  for (const auto& [op_name, candidate] : kOps) {
    if (candidate == op) return op_name;
  }
  return "?";
}

bool UsesLoadedSessions(Op op) {
  return op == Op::kGet || op == Op::kCommit || op == Op::kWeb || op == Op::kWebReadMostly ||
         op == Op::kTouch;
}

double WriteShare(Op op) {
  if (op == Op::kWeb) return 1;
  if (op == Op::kWebReadMostly) return 0.2;
  return 0;
}

std::string FieldKey(int index) { return absl::StrCat("f", index); }

const std::string& FieldValue() {
  static const std::string* const value = new std::string(kFieldBytes, 'v');
  return *value;
}

const std::string& CommitValue() {
  static const std::string* const value = new std::string(kCommitBytes, 'c');
  return *value;
}

}  // namespace sessiond::bench
