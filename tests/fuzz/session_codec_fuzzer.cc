// libFuzzer target: the durable backends' session codec. DecodeSession of any bytes must return a
// session or DATA_LOSS, never crash; a session it returns must encode to bytes that decode to the
// same encoding again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/status/statusor.h"
#include "storage/session_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sessiond::storage::DecodeSession;
  using sessiond::storage::EncodeSession;
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<sessiond::storage::StoredSession> session = DecodeSession("fuzz", bytes);
  if (!session.ok()) {
    if (session.status().code() != absl::StatusCode::kDataLoss) std::abort();
    return 0;
  }
  const std::string encoded = EncodeSession(*session);
  absl::StatusOr<sessiond::storage::StoredSession> again = DecodeSession("fuzz", encoded);
  if (!again.ok() || EncodeSession(*again) != encoded) std::abort();
  return 0;
}
