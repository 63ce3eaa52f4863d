#include "storage/postgres_live_cap.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sessiond::storage {
namespace {

// The least byte string after every string that starts with `prefix`, or nullopt if there is none
// (the prefix is empty or all 0xff bytes).
std::optional<std::string> PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<uint8_t>(prefix.back()) == 0xff) prefix.pop_back();
  if (prefix.empty()) return std::nullopt;
  prefix.back() = static_cast<char>(static_cast<uint8_t>(prefix.back()) + 1);
  return prefix;
}

}  // namespace

absl::Status PgCheckLiveCap(PgConnection& connection, const LiveCap& cap, absl::Time counted_after,
                            absl::Time deadline) {
  std::vector<PgParam> params = {PgParam::Binary(cap.id_prefix),
                                 PgParam::Number(absl::ToUnixMillis(counted_after))};
  const std::optional<std::string> end = PrefixEnd(cap.id_prefix);
  if (end.has_value()) params.push_back(PgParam::Binary(*end));
  absl::StatusOr<PgResult> counted =
      connection.RunPrepared(end.has_value() ? "live_count" : "live_count_from", params, deadline);
  if (!counted.ok()) return counted.status();
  const auto live = static_cast<size_t>(counted->Int64(0, 0));
  if (live < cap.max) return absl::OkStatus();
  return LiveCapExceeded(cap, live);
}

}  // namespace sessiond::storage
