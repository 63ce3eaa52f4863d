// libFuzzer target: session id parsing. ValidateSessionId must never crash, and must accept only
// the server's id form (32 base64url characters encoding 24 bytes).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "service/session_id.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view id(reinterpret_cast<const char*>(data), size);
  if (!sessiond::service::ValidateSessionId(id, "id").ok()) return 0;
  std::string decoded;
  if (id.size() != sessiond::service::kSessionIdLength ||
      !absl::WebSafeBase64Unescape(id, &decoded) ||
      decoded.size() != sessiond::service::kSessionIdBytes) {
    std::abort();  // accepted something that is not an id
  }
  return 0;
}
