#include "storage/conflict.h"

#include <cstring>

#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"

namespace sessiond::storage {
namespace {

// Payload layout: the version as 8 bytes, then each key as a 4-byte length and its bytes (host byte
// order: the payload never leaves the process).
constexpr absl::string_view kPayloadUrl = "type.sessiond.dev/sessiond.storage.Conflict";

template <typename T>
void AppendRaw(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(value));
}

template <typename T>
bool ReadRaw(absl::string_view& in, T& value) {
  if (in.size() < sizeof(value)) return false;
  std::memcpy(&value, in.data(), sizeof(value));
  in.remove_prefix(sizeof(value));
  return true;
}

}  // namespace

absl::Status ConflictError(absl::string_view message, const Conflict& conflict) {
  absl::Status status = absl::AbortedError(message);
  std::string payload;
  AppendRaw(payload, conflict.current_version);
  for (const std::string& key : conflict.keys) {
    AppendRaw(payload, static_cast<uint32_t>(key.size()));
    payload.append(key);
  }
  status.SetPayload(kPayloadUrl, absl::Cord(std::move(payload)));
  return status;
}

std::optional<Conflict> GetConflict(const absl::Status& status) {
  const auto payload = status.GetPayload(kPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  const std::string flat(*payload);
  absl::string_view in(flat);
  Conflict conflict;
  if (!ReadRaw(in, conflict.current_version)) return std::nullopt;
  uint32_t length = 0;
  while (ReadRaw(in, length) && length <= in.size()) {
    conflict.keys.emplace_back(in.substr(0, length));
    in.remove_prefix(length);
  }
  return conflict;
}

}  // namespace sessiond::storage
