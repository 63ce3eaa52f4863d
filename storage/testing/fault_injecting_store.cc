#include "storage/testing/fault_injecting_store.h"

#include <utility>

#include "absl/time/clock.h"

namespace sessiond::storage {

void FaultInjectingStore::FailWith(StoreMethod method, absl::Status error, int times) {
  absl::MutexLock lock(&mu_);
  Fault& fault = faults_[static_cast<size_t>(method)];
  fault.error = std::move(error);
  fault.times = times;
}

void FaultInjectingStore::Delay(StoreMethod method, absl::Duration latency) {
  absl::MutexLock lock(&mu_);
  faults_[static_cast<size_t>(method)].latency = latency;
}

void FaultInjectingStore::ReportReadOnly() {
  absl::MutexLock lock(&mu_);
  read_only_ = true;
}

void FaultInjectingStore::Reset() {
  absl::MutexLock lock(&mu_);
  faults_ = {};
  read_only_ = false;
}

bool FaultInjectingStore::AcceptsWrites() const {
  absl::MutexLock lock(&mu_);
  return !read_only_ && StoreWrapper::AcceptsWrites();
}

absl::Status FaultInjectingStore::Inject(StoreMethod method) {
  absl::Duration latency;
  absl::Status error;
  {
    absl::MutexLock lock(&mu_);
    Fault& fault = faults_[static_cast<size_t>(method)];
    latency = fault.latency;
    if (fault.times != 0) {
      error = fault.error;
      if (fault.times > 0) --fault.times;
    }
  }
  absl::SleepFor(latency);
  return error;
}

absl::StatusOr<SessionMeta> FaultInjectingStore::Create(NewSession session) {
  if (absl::Status error = Inject(StoreMethod::kCreate); !error.ok()) return error;
  return StoreWrapper::Create(std::move(session));
}

absl::StatusOr<SessionMeta> FaultInjectingStore::Get(absl::string_view id,
                                                     absl::Span<const absl::string_view> keys,
                                                     Renewal renewal, EntryVisitor visit) {
  if (absl::Status error = Inject(StoreMethod::kGet); !error.ok()) return error;
  return StoreWrapper::Get(id, keys, renewal, visit);
}

absl::StatusOr<SessionMeta> FaultInjectingStore::Apply(absl::string_view id,
                                                       std::vector<Mutation> mutations,
                                                       const Conditions& conditions) {
  if (absl::Status error = Inject(StoreMethod::kApply); !error.ok()) return error;
  return StoreWrapper::Apply(id, std::move(mutations), conditions);
}

absl::StatusOr<SessionMeta> FaultInjectingStore::Touch(absl::string_view id) {
  if (absl::Status error = Inject(StoreMethod::kTouch); !error.ok()) return error;
  return StoreWrapper::Touch(id);
}

absl::StatusOr<bool> FaultInjectingStore::Delete(absl::string_view id,
                                                 std::optional<uint64_t> if_version,
                                                 absl::string_view request_id) {
  if (absl::Status error = Inject(StoreMethod::kDelete); !error.ok()) return error;
  return StoreWrapper::Delete(id, if_version, request_id);
}

absl::StatusOr<SessionMeta> FaultInjectingStore::Rotate(
    absl::string_view id, std::string new_id, std::optional<uint64_t> if_version,
    absl::string_view request_id, const std::optional<std::string>& bind_principal) {
  if (absl::Status error = Inject(StoreMethod::kRotate); !error.ok()) return error;
  return StoreWrapper::Rotate(id, std::move(new_id), if_version, request_id, bind_principal);
}

absl::StatusOr<SessionPage> FaultInjectingStore::ListSessions(absl::string_view principal,
                                                              size_t page_size,
                                                              absl::string_view page_token) {
  if (absl::Status error = Inject(StoreMethod::kListSessions); !error.ok()) return error;
  return StoreWrapper::ListSessions(principal, page_size, page_token);
}

absl::StatusOr<size_t> FaultInjectingStore::RevokeSessions(
    absl::string_view principal, absl::Span<const std::string> except_ids) {
  if (absl::Status error = Inject(StoreMethod::kRevokeSessions); !error.ok()) return error;
  return StoreWrapper::RevokeSessions(principal, except_ids);
}

absl::StatusOr<size_t> FaultInjectingStore::SweepExpired() {
  if (absl::Status error = Inject(StoreMethod::kSweepExpired); !error.ok()) return error;
  return StoreWrapper::SweepExpired();
}

}  // namespace sessiond::storage
