// libFuzzer target: SessionState restore and commit. The input is a stored state (version, packed
// entries, tombstones, floor, request ids) followed by a mutation batch with conditions. Restore
// must return a state or DATA_LOSS; Check then Commit on a restored state must never crash, and
// the committed state must restore from its own parts with the same keys, bytes and version.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "storage/session_state.h"

namespace {

using sessiond::storage::Conditions;
using sessiond::storage::Mutation;
using sessiond::storage::SessionLimits;
using sessiond::storage::SessionState;
using sessiond::storage::Value;

Value ConsumeValue(FuzzedDataProvider& input) {
  switch (input.ConsumeIntegralInRange<int>(0, 5)) {
    case 0:
      return input.ConsumeRandomLengthString(64);
    case 1:
      return sessiond::storage::Bytes{input.ConsumeRandomLengthString(64)};
    case 2:
      return input.ConsumeIntegral<int64_t>();
    case 3:
      return input.ConsumeFloatingPoint<double>();
    case 4:
      return input.ConsumeBool();
    default:
      return sessiond::storage::Json{input.ConsumeRandomLengthString(64)};
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  const SessionLimits limits{/*max_keys=*/16, /*max_session_bytes=*/1024,
                             /*idempotency_window=*/absl::Seconds(60), /*max_request_ids=*/4};
  const absl::Time now = absl::FromUnixSeconds(1'000'000);

  const uint64_t version = input.ConsumeIntegral<uint64_t>();
  std::string packed = input.ConsumeRandomLengthString(512);
  std::vector<SessionState::Tombstone> tombstones(input.ConsumeIntegralInRange<size_t>(0, 4));
  for (auto& tombstone : tombstones) {
    tombstone = {input.ConsumeRandomLengthString(16), input.ConsumeIntegral<uint64_t>()};
  }
  const uint64_t removed_floor = input.ConsumeIntegral<uint64_t>();
  std::vector<SessionState::AppliedRequest> requests(input.ConsumeIntegralInRange<size_t>(0, 4));
  for (auto& request : requests) {
    request = {input.ConsumeRandomLengthString(16), input.ConsumeIntegral<uint64_t>(),
               now + absl::Seconds(input.ConsumeIntegralInRange<int>(-100, 100))};
  }
  absl::StatusOr<SessionState> state = SessionState::Restore(
      version, std::move(packed), std::move(tombstones), removed_floor, std::move(requests));
  if (!state.ok()) {
    if (state.status().code() != absl::StatusCode::kDataLoss) std::abort();
    return 0;
  }

  std::vector<Mutation> mutations(input.ConsumeIntegralInRange<size_t>(0, 8));
  for (auto& mutation : mutations) {
    switch (input.ConsumeIntegralInRange<int>(0, 2)) {
      case 0:
        mutation = Mutation::Set(input.ConsumeRandomLengthString(16), ConsumeValue(input));
        break;
      case 1:
        mutation = Mutation::Remove(input.ConsumeRandomLengthString(16));
        break;
      default:
        mutation = Mutation::Clear();
    }
  }
  Conditions conditions;
  if (input.ConsumeBool()) conditions.if_version = input.ConsumeIntegral<uint64_t>();
  if (input.ConsumeBool()) conditions.read_version = input.ConsumeIntegral<uint64_t>();
  const std::string request_id = input.ConsumeRandomLengthString(16);

  absl::StatusOr<SessionState::Plan> plan = state->Check(mutations, conditions, limits);
  if (!plan.ok()) return 0;
  state->Commit(std::move(mutations), *plan, limits);
  if (!request_id.empty()) state->RecordRequest(request_id, now, limits);

  absl::StatusOr<SessionState> restored =
      SessionState::Restore(state->version(), state->packed_entries(), state->tombstones(),
                            state->removed_floor(), state->requests());
  if (!restored.ok() || restored->key_count() != state->key_count() ||
      restored->data_bytes() != state->data_bytes() || restored->version() != state->version()) {
    std::abort();
  }
  return 0;
}
