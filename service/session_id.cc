#include "service/session_id.h"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <iostream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace sessiond::service {
namespace {

constexpr absl::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// kIsIdChar[c] is true for the 64 base64url characters.
constexpr std::array<bool, 256> MakeIdCharTable() {
  std::array<bool, 256> table{};
  for (char c : kAlphabet) table[static_cast<uint8_t>(c)] = true;
  return table;
}
constexpr std::array<bool, 256> kIsIdChar = MakeIdCharTable();

void FillRandom(uint8_t* out, size_t size) {
  while (size > 0) {
    const ssize_t got = getrandom(out, size, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      std::cerr << "sessiond: getrandom failed (errno " << errno
                << "); refusing to make a predictable session id\n";
      std::abort();
    }
    out += got;
    size -= static_cast<size_t>(got);
  }
}

}  // namespace

std::string NewSessionId() {
  std::array<uint8_t, kSessionIdBytes> bytes;
  FillRandom(bytes.data(), bytes.size());
  return absl::WebSafeBase64Escape(
      absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

absl::Status ValidateSessionId(absl::string_view id, absl::string_view field) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is empty"));
  if (id.size() != kSessionIdLength) {
    return absl::InvalidArgumentError(absl::StrCat(field, " must be ", kSessionIdLength,
                                                   " characters of base64url; got ", id.size()));
  }
  for (size_t i = 0; i < id.size(); ++i) {
    if (!kIsIdChar[static_cast<uint8_t>(id[i])]) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " has a character outside base64url at position ", i));
    }
  }
  return absl::OkStatus();
}

}  // namespace sessiond::service
