#include "storage/memory_session.h"

#include <cstring>
#include <utility>

namespace sessiond::storage {

MemorySession::MemorySession(absl::string_view id, SessionState state) : state_(std::move(state)) {
  set_id(id);
}

MemorySession::~MemorySession() {
  if (!IdInline()) delete[] id_.heap_;
}

absl::string_view MemorySession::id() const {
  return absl::string_view(IdInline() ? id_.inline_ : id_.heap_, id_size_);
}

void MemorySession::set_id(absl::string_view id) {
  if (!IdInline()) delete[] id_.heap_;
  id_size_ = static_cast<uint32_t>(id.size());
  char* to = id_.inline_;
  if (!IdInline()) to = id_.heap_ = new char[id.size()];
  if (!id.empty()) std::memcpy(to, id.data(), id.size());
}

void MemorySession::SetTimes(absl::Time created_at, absl::Time absolute_expires_at,
                             absl::Duration idle_timeout) {
  created_ns_ = absl::ToUnixNanos(created_at);
  absolute_expires_ns_ = absl::ToUnixNanos(absolute_expires_at);
  idle_timeout_ns_ = absl::ToInt64Nanoseconds(idle_timeout);
}

void MemorySession::Renew(absl::Time now) {
  last_access_ns_.store(absl::ToUnixNanos(now), std::memory_order_relaxed);
}

absl::string_view MemorySession::principal() const {
  return extras_ != nullptr ? absl::string_view(extras_->principal) : absl::string_view();
}

void MemorySession::set_principal(std::string principal) {
  if (principal.empty() && extras_ == nullptr) return;
  MutableExtras().principal = std::move(principal);
}

const Labels& MemorySession::labels() const {
  static const auto* const kNone = new Labels();
  return extras_ != nullptr ? extras_->labels : *kNone;
}

void MemorySession::set_labels(Labels labels) {
  if (labels.empty() && extras_ == nullptr) return;
  MutableExtras().labels = std::move(labels);
}

void MemorySession::MakeStub(std::string successor, GoneDetails gone) {
  Extras& extras = MutableExtras();
  extras.stub = true;
  extras.successor = std::move(successor);
  extras.gone = gone;
}

absl::string_view MemorySession::successor() const {
  return extras_ != nullptr ? absl::string_view(extras_->successor) : absl::string_view();
}

GoneDetails MemorySession::gone() const {
  return extras_ != nullptr ? extras_->gone : GoneDetails();
}

MemorySession::Extras& MemorySession::MutableExtras() {
  if (extras_ == nullptr) extras_ = std::make_unique<Extras>();
  return *extras_;
}

size_t MemorySession::ApproximateMemory() const {
  // The set's slot (a pointer and a control byte) and the record, plus what hangs off it.
  size_t bytes =
      sizeof(void*) + 1 + sizeof(MemorySession) + state_.ApproximateMemory() - sizeof(SessionState);
  if (!IdInline()) bytes += id_size_;
  if (extras_ == nullptr) return bytes;
  bytes += sizeof(Extras) + extras_->principal.capacity() + extras_->successor.capacity();
  // A map node per label: its two strings and about four pointers of tree overhead.
  for (const auto& [key, value] : extras_->labels) {
    bytes += 2 * sizeof(std::string) + 4 * sizeof(void*) + key.size() + value.size();
  }
  return bytes;
}

}  // namespace sessiond::storage
