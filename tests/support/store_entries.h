// GetAllEntries: a session's entries as an ordered map, for storage tests that compare contents.
#ifndef SESSIOND_TESTS_SUPPORT_STORE_ENTRIES_H_
#define SESSIOND_TESTS_SUPPORT_STORE_ENTRIES_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/store.h"

namespace sessiond::testing {

// Every entry of session `id` in `store`, read with `renewal`; its metadata goes to `*meta` if
// given. The Get's error (NOT_FOUND...) otherwise.
inline absl::StatusOr<std::map<std::string, storage::Value>> GetAllEntries(
    storage::Store& store, absl::string_view id,
    storage::Renewal renewal = storage::Renewal::kRenew, storage::SessionMeta* meta = nullptr) {
  std::map<std::string, storage::Value> entries;
  absl::StatusOr<storage::SessionMeta> got =
      store.Get(id, {}, renewal, [&](absl::string_view key, storage::ValueView value) {
        entries.emplace(std::string(key), value.ToValue());
      });
  if (!got.ok()) return got.status();
  if (meta != nullptr) *meta = *got;
  return entries;
}

}  // namespace sessiond::testing

#endif  // SESSIOND_TESTS_SUPPORT_STORE_ENTRIES_H_
