// StoreWrapper: a Store that forwards every call to another Store, as leveldb's EnvWrapper does for
// Env. A decorator (fault injection in tests, metrics, caching) derives from it and overrides only
// the calls it changes; calls it leaves alone keep the target's behaviour and contract exactly.
// Thread-safe if the target is.
#ifndef SESSIOND_STORAGE_STORE_WRAPPER_H_
#define SESSIOND_STORAGE_STORE_WRAPPER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/store.h"

namespace sessiond::storage {

class StoreWrapper : public Store {
 public:
  // Forwards to `target` (not owned; must outlive the wrapper).
  explicit StoreWrapper(Store* target) : target_(target) {}

  // The wrapped store.
  Store* target() const { return target_; }

  absl::StatusOr<SessionMeta> Create(NewSession session) override {
    return target_->Create(std::move(session));
  }
  absl::StatusOr<SessionMeta> Get(absl::string_view id, absl::Span<const absl::string_view> keys,
                                  Renewal renewal, EntryVisitor visit) override {
    return target_->Get(id, keys, renewal, visit);
  }
  absl::StatusOr<SessionMeta> Apply(absl::string_view id, std::vector<Mutation> mutations,
                                    const Conditions& conditions) override {
    return target_->Apply(id, std::move(mutations), conditions);
  }
  absl::StatusOr<SessionMeta> Touch(absl::string_view id) override { return target_->Touch(id); }
  absl::StatusOr<bool> Delete(absl::string_view id, std::optional<uint64_t> if_version,
                              absl::string_view request_id) override {
    return target_->Delete(id, if_version, request_id);
  }
  absl::StatusOr<SessionMeta> Rotate(absl::string_view id, std::string new_id,
                                     std::optional<uint64_t> if_version,
                                     absl::string_view request_id,
                                     const std::optional<std::string>& bind_principal) override {
    return target_->Rotate(id, std::move(new_id), if_version, request_id, bind_principal);
  }
  absl::StatusOr<SessionPage> ListSessions(absl::string_view principal, size_t page_size,
                                           absl::string_view page_token) override {
    return target_->ListSessions(principal, page_size, page_token);
  }
  absl::StatusOr<size_t> RevokeSessions(absl::string_view principal,
                                        absl::Span<const std::string> except_ids) override {
    return target_->RevokeSessions(principal, except_ids);
  }
  EventLog& Events() override { return target_->Events(); }
  absl::StatusOr<size_t> SweepExpired() override { return target_->SweepExpired(); }
  StoreStats Stats() const override { return target_->Stats(); }
  bool MayBlock() const override { return target_->MayBlock(); }
  bool AcceptsWrites() const override { return target_->AcceptsWrites(); }
  bool CapsLiveSessions() const override { return target_->CapsLiveSessions(); }

 private:
  Store* const target_;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_STORE_WRAPPER_H_
