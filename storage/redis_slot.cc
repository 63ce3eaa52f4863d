// RedisKeySlot: the cluster's key-to-slot function (CRC16/XMODEM of the hash tag, mod 16384), as
// Redis's cluster.c keyHashSlot computes it; RedisSlotTag: a short hash tag for each slot.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
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

const std::string& RedisSlotTag(int slot) {
  // The shortest decimal numbers, in order, until every slot has one (about 110,000 CRCs, once; at
  // most 6 digits).
  static const std::vector<std::string>* tags = [] {
    auto* found = new std::vector<std::string>(kSlotCount);
    int missing = kSlotCount;
    for (uint64_t n = 0; missing > 0; ++n) {
      std::string tag = absl::StrCat(n);
      std::string& entry = (*found)[Crc16(tag) % kSlotCount];
      if (entry.empty()) {
        entry = std::move(tag);
        --missing;
      }
    }
    return found;
  }();
  return (*tags)[slot];
}

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
