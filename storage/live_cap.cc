#include "storage/live_cap.h"

#include "absl/strings/str_cat.h"

namespace sessiond::storage {

absl::Status LiveCapExceeded(const LiveCap& cap, size_t live) {
  return absl::ResourceExhaustedError(
      absl::StrCat("the tenant has ", live, " live sessions; the limit is ", cap.max, " (",
                   cap.name, "); end some (Delete, RevokeSessions) or raise the limit"));
}

}  // namespace sessiond::storage
