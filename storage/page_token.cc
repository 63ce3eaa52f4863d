#include "storage/page_token.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sessiond::storage {

std::string EncodePageToken(const PageCursor& cursor) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(absl::ToUnixNanos(cursor.created_at), ":", cursor.id));
}

absl::StatusOr<PageCursor> DecodePageToken(absl::string_view token) {
  std::string text;
  const absl::Status invalid = absl::InvalidArgumentError(
      "page_token: not a token from ListSessions; pass next_page_token as it was returned");
  if (!absl::WebSafeBase64Unescape(token, &text)) return invalid;
  const size_t colon = text.find(':');
  int64_t nanos = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(text.substr(0, colon), &nanos)) {
    return invalid;
  }
  return PageCursor{absl::FromUnixNanos(nanos), text.substr(colon + 1)};
}

}  // namespace sessiond::storage
