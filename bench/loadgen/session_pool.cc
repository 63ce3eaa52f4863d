#include "bench/loadgen/session_pool.h"

#include <algorithm>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace sessiond::bench {

void SessionPool::Reserve(size_t sessions) {
  ids_.reserve(sessions * kIdBytes);
  versions_.reserve(sessions);
}

absl::Status SessionPool::Add(absl::string_view id) {
  if (id.size() != kIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("session id of ", id.size(), " bytes; expected ", kIdBytes));
  }
  ids_.append(id.data(), id.size());
  versions_.push_back(1);
  return absl::OkStatus();
}

size_t SessionPool::AddRandom() {
  static constexpr absl::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = 0; i < kIdBytes; ++i) {
    ids_.push_back(kAlphabet[absl::Uniform<size_t>(random_, 0, kAlphabet.size())]);
  }
  versions_.push_back(1);
  return versions_.size() - 1;
}

void SessionPool::SawVersion(size_t index, uint64_t version) {
  versions_[index] = std::max(versions_[index], version);
}

bool SessionPool::Chance(double probability) {
  if (probability >= 1) return true;
  return probability > 0 && absl::Bernoulli(random_, probability);
}

absl::Status SessionPool::WriteGhzDataFile(const std::string& path) const {
  std::ofstream out(path, std::ios::trunc);
  out << "[";
  for (size_t i = 0; i < size(); ++i) {
    out << (i == 0 ? "" : ",") << "{\"id\":\"" << id(i) << "\"}";
  }
  out << "]\n";
  if (!out.flush()) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace sessiond::bench
