// RoutingRedisClient: RedisClient (redis_client.h) over one RedisNodePool per node, with the
// cluster's slot map kept from CLUSTER SLOTS and corrected by MOVED replies.
#include "storage/redis_client.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "storage/redis_connection.h"
#include "storage/redis_node_pool.h"

namespace sessiond::storage {
namespace {

constexpr int kSlotCount = 16384;

// The pause before attempt `attempt` (1, 2, ...) after TRYAGAIN, CLUSTERDOWN, LOADING or a
// connection error: 20 ms, doubling, at most 320 ms.
absl::Duration RetryPause(int attempt) {
  return absl::Milliseconds(20) * (1 << std::min(attempt - 1, 4));
}

// A redirection: "MOVED <slot> <host:port>" or "ASK <slot> <host:port>".
struct Redirect {
  int slot = 0;
  std::string address;
};

bool ParseRedirect(const RedisReply& reply, absl::string_view kind, Redirect* redirect) {
  if (!reply.IsErrorStartingWith(absl::StrCat(kind, " "))) return false;
  std::vector<absl::string_view> parts = absl::StrSplit(reply.str, ' ', absl::SkipEmpty());
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &redirect->slot) || redirect->slot < 0 ||
      redirect->slot >= kSlotCount) {
    return false;
  }
  absl::StatusOr<RedisAddress> address = RedisAddress::Parse(parts[2]);
  if (!address.ok()) return false;
  redirect->address = address->ToString();
  return true;
}

// The outcome of one attempt on one node and, if it failed, at which step.
struct Attempt {
  enum class Step {
    kConnect,  // Nothing was sent: another attempt may run the command.
    kCommand,  // The command was sent and may have run: no other attempt.
    kWait,     // The command ran, WAIT fell short or failed: the node is not to blame.
  };
  absl::StatusOr<RedisReply> reply;
  Step failed_at = Step::kCommand;
};

class RoutingRedisClient final : public RedisClient {
 public:
  RoutingRedisClient(RedisOptions options, std::vector<std::string> seeds, bool cluster,
                     std::shared_ptr<RedisTlsContext> tls)
      : options_(std::move(options)),
        seeds_(std::move(seeds)),
        cluster_(cluster),
        tls_(std::move(tls)),
        slots_(cluster ? kSlotCount : 0) {}

  // Checks that the server answers (standalone) or loads the slot map (cluster).
  absl::Status Start() {
    if (cluster_) return Refresh("");
    absl::StatusOr<RedisNodePool::Lease> lease = Pool(seeds_.front())->Acquire();
    if (!lease.ok()) return lease.status();
    absl::StatusOr<RedisReply> pong = (*lease)->Run({"PING"}, options_.command_timeout);
    if (!pong.ok()) return pong.status();
    // A user denied PING (NOPERM) is authenticated; it may still run the commands it needs.
    if (pong->IsErrorStartingWith("NOPERM")) return absl::OkStatus();
    return AuthErrorOf(*pong, seeds_.front());
  }

  absl::StatusOr<RedisReply> Run(absl::string_view key, absl::Span<const absl::string_view> args,
                                 bool wait_for_replicas) override {
    return Route(key, args, wait_for_replicas ? options_.wait_replicas : 0,
                 options_.command_timeout);
  }

  absl::StatusOr<RedisReply> RunBlocking(absl::string_view key,
                                         absl::Span<const absl::string_view> args,
                                         absl::Duration timeout) override {
    return Route(key, args, /*wait_replicas=*/0, timeout + options_.command_timeout);
  }

  // Run's routing: `args` on the primary owning `key`, each reply awaited for `timeout`, then
  // WAIT for `wait_replicas` replicas (0: none).
  absl::StatusOr<RedisReply> Route(absl::string_view key, absl::Span<const absl::string_view> args,
                                   int wait_replicas, absl::Duration timeout) {
    const int slot = cluster_ ? RedisKeySlot(key) : -1;
    std::string ask_address;
    bool pause = false;
    absl::Status last = absl::UnavailableError("no attempt made");
    for (int attempt = 0; attempt < options_.max_redirects; ++attempt) {
      if (std::exchange(pause, true)) absl::SleepFor(RetryPause(attempt));
      const bool asking = !ask_address.empty();
      const std::string address = asking ? std::exchange(ask_address, "") : OwnerOf(slot);
      if (address.empty()) {
        last = absl::UnavailableError(absl::StrCat("no known primary serves slot ", slot));
        if (absl::Status refreshed = Refresh(""); !refreshed.ok()) last = refreshed;
        continue;
      }
      Attempt result = RunOn(address, asking, args, wait_replicas, timeout);
      if (!result.reply.ok()) {
        last = result.reply.status();
        if (!MayRetryAfterFailure(result, address)) return last;
        continue;
      }
      const RedisReply& reply = *result.reply;
      Redirect redirect;
      if (cluster_ && ParseRedirect(reply, "MOVED", &redirect)) {
        SetOwner(redirect.slot, redirect.address);
        pause = false;
      } else if (cluster_ && ParseRedirect(reply, "ASK", &redirect)) {
        ask_address = redirect.address;
        pause = false;
      } else if (!IsTransient(reply)) {
        return result.reply;
      }
      last = ReplyError(address, reply);
    }
    return absl::UnavailableError(
        absl::StrCat("gave up after ", options_.max_redirects, " attempts: ", last.message()));
  }

  absl::StatusOr<std::vector<RedisReply>> RunOnEveryPrimary(
      absl::Span<const absl::string_view> args) override {
    absl::Status last = absl::UnavailableError("no attempt made");
    for (int attempt = 0; attempt < options_.max_redirects; ++attempt) {
      if (attempt > 0) absl::SleepFor(RetryPause(attempt));
      std::vector<std::string> primaries = Primaries();
      if (primaries.empty()) last = absl::UnavailableError("no known primary");
      std::vector<RedisReply> replies;
      for (const std::string& address : primaries) {
        Attempt result =
            RunOn(address, /*asking=*/false, args, /*wait_replicas=*/0, options_.command_timeout);
        if (!result.reply.ok()) {
          last = result.reply.status();
          if (!MayRetryAfterFailure(result, address)) return last;
          break;
        }
        if (IsTransient(*result.reply)) {
          last = ReplyError(address, *result.reply);
          break;
        }
        replies.push_back(*std::move(result.reply));
      }
      if (!primaries.empty() && replies.size() == primaries.size()) return replies;
    }
    return absl::UnavailableError(
        absl::StrCat("gave up after ", options_.max_redirects, " attempts: ", last.message()));
  }

 private:
  // An error reply that asks to try again later (the cluster is changing or the node loading).
  static bool IsTransient(const RedisReply& reply) {
    return reply.IsErrorStartingWith("TRYAGAIN") || reply.IsErrorStartingWith("CLUSTERDOWN") ||
           reply.IsErrorStartingWith("LOADING");
  }

  // A routing or transient error reply, as the status a call returns if it is the last.
  static absl::Status ReplyError(absl::string_view address, const RedisReply& reply) {
    return absl::UnavailableError(absl::StrCat("Redis ", address, ": ", reply.str));
  }

  // After an attempt on `address` that failed with a status: whether another attempt may follow
  // (the command was not sent, and the node is unavailable rather than refusing us). In a
  // cluster, a node that failed refreshes the slot map first; the next attempt, or the next call,
  // reports what still fails.
  bool MayRetryAfterFailure(const Attempt& result, const std::string& address) {
    if (result.reply.status().code() != absl::StatusCode::kUnavailable) return false;
    if (cluster_ && result.failed_at != Attempt::Step::kWait) Refresh(address).IgnoreError();
    return result.failed_at == Attempt::Step::kConnect;
  }

  // OK unless `reply` says the client is not authenticated or not allowed.
  static absl::Status AuthErrorOf(const RedisReply& reply, absl::string_view address) {
    if (reply.IsErrorStartingWith("NOAUTH") || reply.IsErrorStartingWith("WRONGPASS")) {
      return absl::UnauthenticatedError(absl::StrCat("Redis ", address, ": ", reply.str));
    }
    if (reply.IsErrorStartingWith("NOPERM")) {
      return absl::PermissionDeniedError(absl::StrCat("Redis ", address, ": ", reply.str));
    }
    return absl::OkStatus();
  }

  // Runs `args` on the node at `address` (after ASKING if `asking`), awaiting its reply for
  // `timeout`, and, if `wait_replicas` > 0 and the reply is not an error, WAITs for that many
  // replicas on the same connection.
  Attempt RunOn(const std::string& address, bool asking, absl::Span<const absl::string_view> args,
                int wait_replicas, absl::Duration timeout) {
    absl::StatusOr<RedisNodePool::Lease> lease = Pool(address)->Acquire();
    if (!lease.ok()) return {lease.status(), Attempt::Step::kConnect};
    if (asking) {
      absl::StatusOr<RedisReply> ok = (*lease)->Run({"ASKING"}, options_.command_timeout);
      if (!ok.ok()) return {ok.status()};
    }
    Attempt result = {(*lease)->Run(args, timeout)};
    if (!result.reply.ok() || wait_replicas == 0 || result.reply->IsError()) return result;
    const std::string replicas = absl::StrCat(wait_replicas);
    const std::string timeout_ms = absl::StrCat(absl::ToInt64Milliseconds(options_.wait_timeout));
    absl::StatusOr<RedisReply> confirmed = (*lease)->Run(
        {"WAIT", replicas, timeout_ms}, options_.wait_timeout + options_.command_timeout);
    if (confirmed.ok() && confirmed->type == RedisReply::Type::kInteger &&
        confirmed->integer >= wait_replicas) {
      return result;
    }
    const std::string cause = !confirmed.ok() ? std::string(confirmed.status().message())
                              : confirmed->type == RedisReply::Type::kInteger
                                  ? absl::StrCat(confirmed->integer, " confirmed within ",
                                                 absl::FormatDuration(options_.wait_timeout))
                                  : confirmed->str;
    return {
        absl::UnavailableError(absl::StrCat("written on Redis ", address, ", but not confirmed on ",
                                            wait_replicas, " replicas: ", cause)),
        Attempt::Step::kWait};
  }

  // The pool of the node at `address`, made on first use.
  RedisNodePool* Pool(const std::string& address) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    std::unique_ptr<RedisNodePool>& pool = pools_[address];
    if (pool == nullptr) {
      // Callers pass seeds (parsed by Connect) or addresses from replies (parsed there).
      pool = std::make_unique<RedisNodePool>(*RedisAddress::Parse(address), options_, tls_);
    }
    return pool.get();
  }

  // The primary serving `slot` as far as the map knows ("" if none); the server if standalone.
  std::string OwnerOf(int slot) ABSL_LOCKS_EXCLUDED(mu_) {
    if (!cluster_) return seeds_.front();
    absl::MutexLock lock(&mu_);
    return slots_[slot];
  }

  void SetOwner(int slot, const std::string& address) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    slots_[slot] = address;
  }

  // Every primary the map knows, once each; the server if standalone.
  std::vector<std::string> Primaries() ABSL_LOCKS_EXCLUDED(mu_) {
    if (!cluster_) return {seeds_.front()};
    absl::MutexLock lock(&mu_);
    absl::flat_hash_set<std::string> primaries(slots_.begin(), slots_.end());
    primaries.erase("");
    return {primaries.begin(), primaries.end()};
  }

  // Reloads the slot map from the first node that answers CLUSTER SLOTS, asking the known
  // primaries first, then the seeds, and `suspect` (a node that just failed) last. UNAVAILABLE
  // if none answers; the error of AUTH if that fails; FAILED_PRECONDITION if the node is not in
  // cluster mode.
  absl::Status Refresh(const std::string& suspect) ABSL_LOCKS_EXCLUDED(mu_, refresh_mu_) {
    absl::MutexLock refreshing(&refresh_mu_);
    std::vector<std::string> candidates;
    absl::flat_hash_set<std::string> seen = {suspect};
    for (const std::vector<std::string>& addresses : {Primaries(), seeds_}) {
      for (const std::string& address : addresses) {
        if (seen.insert(address).second) candidates.push_back(address);
      }
    }
    if (!suspect.empty()) candidates.push_back(suspect);
    absl::Status last = absl::UnavailableError("no node to ask for CLUSTER SLOTS");
    for (const std::string& address : candidates) {
      Attempt result =
          RunOn(address, /*asking=*/false, {"CLUSTER", "SLOTS"}, 0, options_.command_timeout);
      if (!result.reply.ok()) {
        last = result.reply.status();
        if (last.code() != absl::StatusCode::kUnavailable) return last;
        continue;
      }
      if (absl::Status auth = AuthErrorOf(*result.reply, address); !auth.ok()) return auth;
      absl::StatusOr<std::vector<std::string>> slots = ParseSlots(*result.reply, address);
      if (slots.ok()) {
        absl::MutexLock lock(&mu_);
        slots_ = *std::move(slots);
        return absl::OkStatus();
      }
      last = slots.status();
      if (last.code() != absl::StatusCode::kUnavailable) return last;
    }
    return last;
  }

  // The owner of each slot from a CLUSTER SLOTS reply of the node at `address`.
  static absl::StatusOr<std::vector<std::string>> ParseSlots(const RedisReply& reply,
                                                             const std::string& address) {
    if (reply.IsErrorStartingWith("ERR This instance has cluster support disabled")) {
      return absl::FailedPreconditionError(
          absl::StrCat("Redis ", address, " is not in cluster mode: ", reply.str));
    }
    const absl::Status malformed = absl::UnavailableError(
        absl::StrCat("Redis ", address, ": unexpected CLUSTER SLOTS reply ", reply.str));
    if (reply.type != RedisReply::Type::kArray) return malformed;
    const std::string host = RedisAddress::Parse(address)->host;
    std::vector<std::string> slots(kSlotCount);
    for (const RedisReply& range : reply.elements) {
      if (range.type != RedisReply::Type::kArray || range.elements.size() < 3 ||
          range.elements[2].type != RedisReply::Type::kArray ||
          range.elements[2].elements.size() < 2) {
        return malformed;
      }
      const long long first = range.elements[0].integer;
      const long long last = range.elements[1].integer;
      const RedisReply& primary = range.elements[2];
      if (first < 0 || last >= kSlotCount || first > last) return malformed;
      const std::string& primary_host =
          primary.elements[0].str.empty() || primary.elements[0].str == "?"
              ? host
              : primary.elements[0].str;
      const std::string owner =
          RedisAddress{primary_host, static_cast<int>(primary.elements[1].integer)}.ToString();
      std::fill(slots.begin() + first, slots.begin() + last + 1, owner);
    }
    return slots;
  }

  const RedisOptions options_;
  const std::vector<std::string> seeds_;
  const bool cluster_;
  const std::shared_ptr<RedisTlsContext> tls_;
  // Serializes Refresh, so that many failing callers ask for the map once.
  absl::Mutex refresh_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<RedisNodePool>> pools_ ABSL_GUARDED_BY(mu_);
  // Cluster: the primary serving each slot, "" if unknown. Standalone: empty.
  std::vector<std::string> slots_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<RedisClient>> RedisClient::Connect(const RedisOptions& options) {
  if (options.addresses.empty()) return absl::InvalidArgumentError("no Redis address given");
  std::vector<std::string> seeds;
  for (const std::string& address : options.addresses) {
    absl::StatusOr<RedisAddress> parsed = RedisAddress::Parse(address);
    if (!parsed.ok()) return parsed.status();
    seeds.push_back(parsed->ToString());
  }
  std::shared_ptr<RedisTlsContext> tls;
  if (options.tls) {
    absl::StatusOr<std::shared_ptr<RedisTlsContext>> context = RedisTlsContext::Create(options);
    if (!context.ok()) return context.status();
    tls = *std::move(context);
  }
  const bool cluster = options.cluster || seeds.size() > 1;
  auto client =
      std::make_unique<RoutingRedisClient>(options, std::move(seeds), cluster, std::move(tls));
  if (absl::Status status = client->Start(); !status.ok()) return status;
  return client;
}

}  // namespace sessiond::storage
