#include "storage/rocksdb_keys.h"

#include <algorithm>

namespace sessiond::storage {
namespace {

void AppendBigEndian(std::string& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>(value >> (8 * i)));
}

uint64_t ReadBigEndian(absl::string_view bytes) {
  uint64_t value = 0;
  for (char byte : bytes) value = (value << 8) | static_cast<uint8_t>(byte);
  return value;
}

uint64_t UnsignedMillis(absl::Time time) {
  return static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMillis(time)));
}

}  // namespace

std::string ExpiryKey(absl::Time deadline, absl::string_view id) {
  std::string key;
  key.reserve(8 + id.size());
  AppendBigEndian(key, UnsignedMillis(deadline), 8);
  key.append(id.data(), id.size());
  return key;
}

std::pair<absl::Time, absl::string_view> ParseExpiryKey(absl::string_view key) {
  return {absl::FromUnixMillis(static_cast<int64_t>(ReadBigEndian(key.substr(0, 8)))),
          key.substr(8)};
}

std::string PrincipalPrefix(absl::string_view principal) {
  std::string prefix;
  prefix.reserve(4 + principal.size());
  AppendBigEndian(prefix, principal.size(), 4);
  prefix.append(principal.data(), principal.size());
  return prefix;
}

std::string PrincipalKey(absl::string_view principal, absl::Time created_at, absl::string_view id) {
  std::string key = PrincipalPrefix(principal);
  AppendBigEndian(key, ~UnsignedMillis(created_at), 8);
  // The id descending: the complement of an order-keeping, prefix-free escape (0x00 -> 00 FF,
  // end -> 00 01), so that every byte string orders, a prefix after the strings it prefixes.
  for (char byte : id) {
    if (byte == '\0') {
      key.push_back('\xFF');
      key.push_back('\x00');
    } else {
      key.push_back(static_cast<char>(~static_cast<uint8_t>(byte)));
    }
  }
  key.push_back('\xFF');
  key.push_back('\xFE');
  return key;
}

std::string SequenceKey(uint64_t sequence) {
  std::string key;
  AppendBigEndian(key, sequence, 8);
  return key;
}

uint64_t ParseSequenceKey(absl::string_view key) { return ReadBigEndian(key.substr(0, 8)); }

}  // namespace sessiond::storage
