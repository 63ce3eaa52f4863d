// RedisKeySlot: the cluster's key-to-slot function (CRC16/XMODEM of the hash tag, mod 16384), as
// Redis's cluster.c keyHashSlot computes it.
#include <cstdint>

#include "absl/strings/string_view.h"
#include "storage/redis_client.h"

namespace sessiond::storage {
namespace {

constexpr int kSlotCount = 16384;

// CRC16/XMODEM: polynomial 0x1021, initial value 0, no reflection, no final XOR.
uint16_t Crc16(absl::string_view data) {
  uint16_t crc = 0;
  for (unsigned char byte : data) {
    crc ^= static_cast<uint16_t>(byte) << 8;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

}  // namespace

int RedisKeySlot(absl::string_view key) {
  const size_t open = key.find('{');
  if (open != absl::string_view::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != absl::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return Crc16(key) % kSlotCount;
}

}  // namespace sessiond::storage
