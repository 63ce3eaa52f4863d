// The page token of Store::ListSessions, the same for every backend: where a page of a principal's
// sessions (ordered newest created first, then by id descending) ends, so the next starts after it.
// Opaque to callers: base64url of "<created_at unix ns>:<id>".
#ifndef SESSIOND_STORAGE_PAGE_TOKEN_H_
#define SESSIOND_STORAGE_PAGE_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sessiond::storage {

// A position in a principal's session order.
struct PageCursor {
  absl::Time created_at;
  std::string id;

  // True if a session created at `created_at` with `id` comes after this cursor in the order
  // (older, or as old with a smaller id): it belongs on the next page.
  bool Precedes(absl::Time other_created_at, absl::string_view other_id) const {
    return other_created_at < created_at || (other_created_at == created_at && other_id < id);
  }
};

std::string EncodePageToken(const PageCursor& cursor);

// INVALID_ARGUMENT naming page_token if `token` is not one EncodePageToken made.
absl::StatusOr<PageCursor> DecodePageToken(absl::string_view token);

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_PAGE_TOKEN_H_
