#include "storage/redis_event_tail.h"

#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "storage/redis_scripts.h"

namespace sessiond::storage {
namespace {

constexpr absl::Duration kBlock = absl::Milliseconds(100);
constexpr int kBatch = 1000;

// The sequence of a stream entry id "0-<sequence>".
bool ParseSequence(absl::string_view entry_id, uint64_t* sequence) {
  return absl::ConsumePrefix(&entry_id, "0-") && absl::SimpleAtoi(entry_id, sequence);
}

// The event of a stream entry: fields k (kind), i (id), n (new id), p (principal), v (version),
// t (ms), c (changed keys, RedisEncodeList), x ('1': cleared), r (GoneReason).
absl::StatusOr<SessionEvent> ParseEvent(uint64_t sequence, const RedisReply& fields) {
  const absl::Status malformed =
      absl::DataLossError("the Redis event stream holds a malformed entry");
  if (fields.type != RedisReply::Type::kArray || fields.elements.size() % 2 != 0) return malformed;
  SessionEvent event;
  event.sequence = sequence;
  for (size_t i = 0; i < fields.elements.size(); i += 2) {
    const std::string& name = fields.elements[i].str;
    const std::string& value = fields.elements[i + 1].str;
    int64_t number = 0;
    const bool numeric = absl::SimpleAtoi(value, &number);
    if (name == "k" && numeric) {
      event.kind = static_cast<SessionEvent::Kind>(number);
    } else if (name == "i") {
      event.id = value;
    } else if (name == "n") {
      event.new_id = value;
    } else if (name == "p") {
      event.principal = value;
    } else if (name == "v" && numeric) {
      event.version = static_cast<uint64_t>(number);
    } else if (name == "t" && numeric) {
      event.at = absl::FromUnixMillis(number);
    } else if (name == "c") {
      absl::StatusOr<std::vector<std::string>> keys = RedisDecodeList(value);
      if (!keys.ok()) return keys.status();
      event.changed_keys = *std::move(keys);
    } else if (name == "x") {
      event.cleared = value == "1";
    } else if (name == "r" && numeric) {
      event.reason = static_cast<GoneReason>(number);
    } else {
      return malformed;
    }
  }
  return event;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisEventTail>> RedisEventTail::Start(
    RedisClient* client, std::string stream_key, const std::string& sequence_key,
    size_t retention) {
  const std::vector<absl::string_view> first = {"XRANGE", stream_key, "-", "+", "COUNT", "1"};
  absl::StatusOr<RedisReply> oldest = client->Run(stream_key, first);
  if (!oldest.ok()) return oldest.status();
  uint64_t first_sequence = 0;
  if (oldest->type == RedisReply::Type::kArray && !oldest->elements.empty()) {
    const RedisReply& entry = oldest->elements[0];
    if (entry.type != RedisReply::Type::kArray || entry.elements.empty() ||
        !ParseSequence(entry.elements[0].str, &first_sequence)) {
      return absl::DataLossError("the Redis event stream holds a malformed entry id");
    }
  } else {
    const std::vector<absl::string_view> get = {"GET", sequence_key};
    absl::StatusOr<RedisReply> last = client->Run(sequence_key, get);
    if (!last.ok()) return last.status();
    uint64_t last_sequence = 0;
    if (last->type == RedisReply::Type::kString && !absl::SimpleAtoi(last->str, &last_sequence)) {
      return absl::DataLossError("the Redis event sequence is not a number");
    }
    first_sequence = last_sequence + 1;
  }
  return std::unique_ptr<RedisEventTail>(
      new RedisEventTail(client, std::move(stream_key), retention, first_sequence));
}

RedisEventTail::RedisEventTail(RedisClient* client, std::string stream_key, size_t retention,
                               uint64_t first_sequence)
    : client_(client),
      stream_key_(std::move(stream_key)),
      log_(retention, first_sequence),
      tailed_(first_sequence - 1),
      thread_([this] { Run(); }) {}

RedisEventTail::~RedisEventTail() {
  stop_.Notify();
  thread_.join();
}

void RedisEventTail::Run() {
  const std::string count = absl::StrCat(kBatch);
  const std::string block = absl::StrCat(absl::ToInt64Milliseconds(kBlock));
  while (!stop_.HasBeenNotified()) {
    const std::string from = absl::StrCat("0-", tailed_);
    const std::vector<absl::string_view> read = {"XREAD", "COUNT",   count,       "BLOCK",
                                                 block,   "STREAMS", stream_key_, from};
    absl::StatusOr<RedisReply> reply = client_->RunBlocking(stream_key_, read, kBlock);
    if (!reply.ok() || reply->IsError() || !AppendAll(*reply)) {
      stop_.WaitForNotificationWithTimeout(kBlock);
    }
  }
}

bool RedisEventTail::AppendAll(const RedisReply& reply) {
  // Nil: the block ran out. Else [[stream, [[id, [field, value, ...]], ...]]].
  if (reply.type == RedisReply::Type::kNil) return true;
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 1 ||
      reply.elements[0].elements.size() != 2) {
    return false;
  }
  for (const RedisReply& entry : reply.elements[0].elements[1].elements) {
    uint64_t sequence = 0;
    if (entry.elements.size() != 2 || !ParseSequence(entry.elements[0].str, &sequence)) {
      return false;
    }
    absl::StatusOr<SessionEvent> event = ParseEvent(sequence, entry.elements[1]);
    // A malformed entry is skipped rather than stopping every later event.
    if (event.ok()) log_.Append(*std::move(event));
    tailed_ = sequence;
  }
  return true;
}

}  // namespace sessiond::storage
