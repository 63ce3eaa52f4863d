#include "bench/loadgen/client_target.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "bench/loadgen/session_requests.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace sessiond::bench {
namespace {

constexpr absl::Duration kCallTimeout = absl::Seconds(10);

}  // namespace

bool ClientTarget::Supports(Op op) { return op != Op::kChurn && op != Op::kEcho; }

absl::StatusOr<std::unique_ptr<ClientTarget>> ClientTarget::Connect(const Options& options,
                                                                    SessionPool* pool) {
  std::unique_ptr<ClientTarget> target(new ClientTarget(pool));
  ClientOptions client_options;
  client_options.timeout = kCallTimeout;
  client_options.batching = options.batching;
  client_options.near_cache_max_bytes = options.near_cache_bytes;
  target->near_cache_ = options.near_cache_bytes > 0;
  for (int i = 0; i < options.channels; ++i) {
    // Distinct channel arguments keep gRPC from sharing one TCP connection between channels.
    grpc::ChannelArguments arguments;
    arguments.SetInt("sessiond.loadgen.channel", i);
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateCustomChannel(options.address, grpc::InsecureChannelCredentials(), arguments);
    if (!channel->WaitForConnected(absl::ToChronoTime(absl::Now() + options.connect_timeout))) {
      return absl::UnavailableError(absl::StrCat("cannot connect to ", options.address));
    }
    target->clients_.push_back(std::make_unique<Client>(channel, client_options));
  }
  for (int i = 0; i < options.slots; ++i) {
    target->slots_.push_back(std::make_unique<Slot>());
  }
  for (int i = 0; i < options.slots; ++i) {
    target->slots_[i]->thread = std::thread([target = target.get(), i] { target->Serve(i); });
  }
  return target;
}

ClientTarget::ClientTarget(SessionPool* pool) : pool_(pool) {}

ClientTarget::~ClientTarget() {
  for (const auto& slot : slots_) {
    absl::MutexLock lock(&slot->mutex);
    slot->stop = true;
  }
  for (const auto& slot : slots_) slot->thread.join();
}

std::optional<CacheCounts> ClientTarget::NearCacheCounts() {
  if (!near_cache_) return std::nullopt;
  CacheCounts counts;
  for (const auto& client : clients_) {
    const NearCacheStats stats = client->near_cache_stats();
    counts.hits += static_cast<int64_t>(stats.hits);
    counts.misses += static_cast<int64_t>(stats.misses);
  }
  return counts;
}

void ClientTarget::Start(int slot, Op op) {
  Work work{op};
  if (UsesLoadedSessions(op)) {
    work.session = pool_->Pick();
    work.id = std::string(pool_->id(work.session));
    work.version = pool_->version(work.session);
    work.writes = pool_->Chance(WriteShare(op));
  }
  Slot& target = *slots_[slot];
  absl::MutexLock lock(&target.mutex);
  target.work = std::move(work);
}

void ClientTarget::Serve(int slot) {
  Slot& mine = *slots_[slot];
  const Client& client = *clients_[slot % clients_.size()];
  while (true) {
    Work work;
    {
      absl::MutexLock lock(&mine.mutex);
      mine.mutex.Await(absl::Condition(
          +[](Slot* s)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mutex) { return s->stop || s->work.has_value(); },
          &mine));
      if (mine.stop) return;
      work = *std::move(mine.work);
      mine.work.reset();
    }
    Done done = Run(client, slot, std::move(work));
    absl::MutexLock lock(&done_mutex_);
    done_.push_back(std::move(done));
  }
}

ClientTarget::Done ClientTarget::Run(const Client& client, int slot, Work work) const {
  Done done{slot};
  auto failed = [&done](const absl::Status& status) {
    if (status.ok()) return false;
    done.error = absl::StatusCodeToString(status.code());
    return true;
  };
  switch (work.op) {
    case Op::kLoad: {
      absl::StatusOr<v1::CreateSessionResponse> created = client.CreateSession(LoadRequest());
      if (!failed(created.status())) done.created_id = created->session().id();
      break;
    }
    case Op::kGet:
    case Op::kWeb:
    case Op::kWebReadMostly: {
      v1::GetRequest get;
      get.set_id(work.id);
      absl::StatusOr<v1::GetResponse> read = client.Get(get);
      if (failed(read.status()) || work.op == Op::kGet) break;
      if (read->entries_size() < kFields) {
        done.error = "BAD_REPLY";
        break;
      }
      if (!work.writes) break;
      failed(
          client
              .Commit(CommitRequest(work.id, FieldKey(0), FieldValue(), read->session().version()))
              .status());
      break;
    }
    case Op::kCommit: {
      absl::StatusOr<v1::CommitResponse> committed =
          client.Commit(CommitRequest(work.id, "blob", CommitValue(), work.version));
      if (!failed(committed.status())) done.version = committed->session().version();
      break;
    }
    case Op::kTouch: {
      v1::TouchRequest touch;
      touch.set_id(work.id);
      failed(client.Touch(touch).status());
      break;
    }
    case Op::kChurn:
    case Op::kEcho:
      done.error = "UNSUPPORTED";
      break;
  }
  done.work = std::move(work);
  return done;
}

void ClientTarget::Poll(std::chrono::nanoseconds timeout, Completion report) {
  std::deque<Done> done;
  {
    absl::MutexLock lock(&done_mutex_);
    done_mutex_.AwaitWithTimeout(absl::Condition(
                                     +[](std::deque<Done>* d) { return !d->empty(); }, &done_),
                                 absl::FromChrono(timeout));
    done.swap(done_);
  }
  for (Done& end : done) {
    if (end.error.empty()) {
      if (end.work.op == Op::kLoad && !pool_->Add(end.created_id).ok()) end.error = "BAD_REPLY";
      if (end.work.op == Op::kCommit) pool_->SawVersion(end.work.session, end.version);
    }
    report(end.slot, end.error);
  }
}

}  // namespace sessiond::bench
