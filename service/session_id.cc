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
  if (id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": empty; a session id is ",
                                                   kSessionIdLength, " base64url characters"));
  }
  if (id.size() != kSessionIdLength) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", id.size(),
                                                   " characters; a session id is ",
                                                   kSessionIdLength, " base64url characters"));
  }
  for (size_t i = 0; i < id.size(); ++i) {
    if (!kIsIdChar[static_cast<uint8_t>(id[i])]) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": character ", i, " is not base64url (A-Z a-z 0-9 - _)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace sessiond::service
