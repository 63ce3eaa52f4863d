#include "service/id_hash.h"

#include <openssl/sha.h>

#include <array>

namespace sessiond::service {

uint64_t IdHash(absl::string_view id) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest;
  SHA256(reinterpret_cast<const unsigned char*>(id.data()), id.size(), digest.data());
  uint64_t hash = 0;
  for (int i = 0; i < 8; ++i) hash = (hash << 8) | digest[i];
  return hash;
}

}  // namespace sessiond::service
