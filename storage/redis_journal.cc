#include "storage/redis_journal.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sessiond::storage {
namespace {

// Journal entries a Move reads and applies per round trip.
constexpr int kMoveBatch = 256;
constexpr int kSlotCount = 16384;

// KEYS: the markers (slot -> id of the last journal entry applied), the event sequence, the event
// stream, the index entry count, the deadline set. ARGV: config (its third field: the event
// retention), the slot, the index keys' prefix, the reservation keys' prefix, the tenant live
// sets' prefix, their reservation keys' prefix, then per journal entry: its id, its field count,
// its fields. Applies, in order, the entries after the slot's marker (redis_scripts.h says what
// each does; an index member or a tenant's live entry added also ends its session's reservation
// under that cap) and moves the marker. Returns {'0', 'OK'}.
constexpr absl::string_view kApply = R"lua(
local MARKS, SEQ, EVENTS, INDEXED, DEADLINES = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local config = {}
for field in string.gmatch(ARGV[1], '%S+') do config[#config + 1] = field end
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local mark = redis.call('HGET', MARKS, ARGV[2])
local mark_ms, mark_seq = -1, -1
if mark then mark_ms, mark_seq = parse(mark) end
local i, last = 7, nil
while i <= #ARGV do
  local id, count = ARGV[i], tonumber(ARGV[i + 1])
  local f = {}
  for j = 1, count do f[j] = ARGV[i + 1 + j] end
  i = i + 2 + count
  local ms, seq = parse(id)
  if ms > mark_ms or (ms == mark_ms and seq > mark_seq) then
    mark_ms, mark_seq, last = ms, seq, id
    if f[2] == 'e' then
      local sequence = redis.call('INCR', SEQ)
      redis.call('XADD', EVENTS, 'MAXLEN', '~', config[3], '0-' .. sequence, unpack(f, 3))
    elseif f[2] == '+' then
      if redis.call('ZADD', ARGV[3] .. f[4], 0, f[6]) == 1 then redis.call('INCR', INDEXED) end
      redis.call('HDEL', ARGV[4] .. f[4], string.sub(f[6], 17))
    elseif f[2] == '-' then
      if redis.call('ZREM', ARGV[3] .. f[4], f[6]) == 1 then redis.call('DECR', INDEXED) end
    elseif f[2] == 'l' then
      local tenant = tenant_of(f[4])
      if tenant then
        redis.call('ZADD', ARGV[5] .. tenant, f[6], f[4])
        redis.call('ZREM', ARGV[6] .. tenant, f[4])
      end
    elseif f[2] == 'd' then
      redis.call('ZREM', DEADLINES, f[4])
      local tenant = tenant_of(f[4])
      if tenant then redis.call('ZREM', ARGV[5] .. tenant, f[4]) end
    end
  end
end
if last then redis.call('HSET', MARKS, ARGV[2], last) end
return {'0', 'OK'}
)lua";

// KEYS: the index entry count. ARGV: config (its first field: the caller's clock in ms, its sixth:
// the cap), index key, reservations key (hash: id -> lease end ms), id, lease ms. Reserves room
// for `id` among the principal's sessions if its index entries and the other unexpired
// reservations leave room under the cap: {'0', 'OK'}; else {'0', 'FULL', the index members...}.
constexpr absl::string_view kReserve = R"lua(
local config = {}
for field in string.gmatch(ARGV[1], '%S+') do config[#config + 1] = field end
local now, cap, lease = tonumber(config[1]), tonumber(config[6]), tonumber(ARGV[5])
local held = 0
local reservations = redis.call('HGETALL', ARGV[3])
for i = 1, #reservations, 2 do
  if tonumber(reservations[i + 1]) <= now then
    redis.call('HDEL', ARGV[3], reservations[i])
  elseif reservations[i] ~= ARGV[4] then
    held = held + 1
  end
end
if redis.call('ZCARD', ARGV[2]) + held < cap then
  redis.call('HSET', ARGV[3], ARGV[4], string.format('%d', now + lease))
  redis.call('PEXPIRE', ARGV[3], lease)
  return {'0', 'OK'}
end
local reply = {'0', 'FULL'}
for _, member in ipairs(redis.call('ZRANGE', ARGV[2], 0, -1)) do reply[#reply + 1] = member end
return reply
)lua";

// KEYS: the deadline set. ARGV: config (its first field: the caller's clock in ms), the tenant's
// live set (ids at their absolute expiry), its reservations (ids at their lease end), id, lease
// ms, the cap, the session's idle deadline ms ('': none). Drops the members past their time,
// then reserves a place for `id` if the live sessions and the other reservations leave one under
// the cap, and puts `id` in the deadline set at that deadline (ZADD GT) if one is given: {'0',
// 'OK'}; else {'0', 'FULL', live sessions and reservations}.
constexpr absl::string_view kReserveLive = R"lua(
local now = tonumber(string.match(ARGV[1], '^%S+'))
local live, reserved, id = ARGV[2], ARGV[3], ARGV[4]
redis.call('ZREMRANGEBYSCORE', live, '-inf', now)
redis.call('ZREMRANGEBYSCORE', reserved, '-inf', now)
local count = redis.call('ZCARD', live) + redis.call('ZCARD', reserved)
if redis.call('ZSCORE', reserved, id) then count = count - 1 end
if count >= tonumber(ARGV[6]) then return {'0', 'FULL', string.format('%d', count)} end
redis.call('ZADD', reserved, now + tonumber(ARGV[5]), id)
redis.call('PEXPIRE', reserved, tonumber(ARGV[5]))
if ARGV[7] ~= '' then redis.call('ZADD', KEYS[1], 'GT', ARGV[7], id) end
return {'0', 'OK'}
)lua";

// KEYS: the index entry count. ARGV: config, index key, member. Drops the member if present.
constexpr absl::string_view kDropIndexEntry = R"lua(
if redis.call('ZREM', ARGV[2], ARGV[3]) == 1 then redis.call('DECR', KEYS[1]) end
return {'0', 'OK'}
)lua";

// KEYS: the deadline set. ARGV: config, id, score, the tenant live sets' prefix. Drops the id if
// its score is still that one, and its tenant's live entry with it.
constexpr absl::string_view kDropDeadline = R"lua(
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
if score and tonumber(score) == tonumber(ARGV[3]) then
  redis.call('ZREM', KEYS[1], ARGV[2])
  local tenant = tenant_of(ARGV[2])
  if tenant then redis.call('ZREM', ARGV[4] .. tenant, ARGV[2]) end
end
return {'0', 'OK'}
)lua";

// The scripts on the shared slot, built once.
struct SharedSlotScripts {
  RedisScript apply = MakeRedisScript("apply_journal", absl::StrCat(kRedisLuaTenantOf, kApply));
  RedisScript reserve = MakeRedisScript("reserve", std::string(kReserve));
  RedisScript reserve_live = MakeRedisScript("reserve_live", std::string(kReserveLive));
  RedisScript drop_index_entry = MakeRedisScript("drop_index_entry", std::string(kDropIndexEntry));
  RedisScript drop_deadline =
      MakeRedisScript("drop_deadline", absl::StrCat(kRedisLuaTenantOf, kDropDeadline));
};

const SharedSlotScripts& Scripts() {
  static const SharedSlotScripts* scripts = new SharedSlotScripts();
  return *scripts;
}

}  // namespace

RedisSharedKeys::RedisSharedKeys(absl::string_view prefix, bool cluster) {
  const std::string base = cluster ? absl::StrCat("{", prefix, "}") : std::string(prefix);
  deadlines = absl::StrCat(base, ":d");
  sequence = absl::StrCat(base, ":n");
  events = absl::StrCat(base, ":events");
  indexed = absl::StrCat(base, ":ic");
  markers = absl::StrCat(base, ":m");
  index_prefix = absl::StrCat(base, ":i:");
  reservations_prefix = absl::StrCat(base, ":r:");
  live_prefix = absl::StrCat(base, ":l:");
  live_reservations_prefix = absl::StrCat(base, ":lr:");
}

RedisJournal::RedisJournal(RedisClient* client, std::string prefix, RedisSharedKeys shared,
                           ScriptRunner run)
    : client_(client),
      prefix_(std::move(prefix)),
      run_(std::move(run)),
      shared_(std::move(shared)) {}

std::string RedisJournal::KeyOf(int slot) const {
  return absl::StrCat(prefix_, ":j:{", RedisSlotTag(slot), "}");
}

absl::Status RedisJournal::Move(int slot) {
  const std::string key = KeyOf(slot);
  const std::string batch = absl::StrCat(kMoveBatch);
  const std::vector<absl::string_view> range = {"XRANGE", key, "-", "+", "COUNT", batch};
  const std::vector<std::string> shared = {shared_.markers, shared_.sequence, shared_.events,
                                           shared_.indexed, shared_.deadlines};
  absl::Status status;
  while (status.ok()) {
    absl::StatusOr<RedisReply> entries = client_->Run(key, range);
    if (!entries.ok() || entries->IsError() || entries->type != RedisReply::Type::kArray) {
      status = entries.ok() ? absl::UnavailableError(absl::StrCat("XRANGE failed: ", entries->str))
                            : entries.status();
      break;
    }
    if (entries->elements.empty()) break;
    std::vector<std::string> args = {absl::StrCat(slot), shared_.index_prefix,
                                     shared_.reservations_prefix, shared_.live_prefix,
                                     shared_.live_reservations_prefix};
    std::vector<absl::string_view> remove = {"XDEL", key};
    for (const RedisReply& entry : entries->elements) {
      if (entry.elements.size() != 2) return absl::DataLossError("a malformed journal entry");
      args.push_back(entry.elements[0].str);
      args.push_back(absl::StrCat(entry.elements[1].elements.size()));
      for (const RedisReply& field : entry.elements[1].elements) args.push_back(field.str);
      remove.push_back(entry.elements[0].str);
    }
    absl::StatusOr<RedisReply> applied = run_(Scripts().apply, shared, args);
    if (!applied.ok()) {
      status = applied.status();
      break;
    }
    absl::StatusOr<RedisReply> removed = client_->Run(key, remove, true);
    if (!removed.ok()) status = removed.status();
    if (entries->elements.size() < static_cast<size_t>(kMoveBatch)) break;
  }
  if (!status.ok()) {
    absl::MutexLock lock(&mu_);
    failed_.insert(slot);
  }
  return status;
}

void RedisJournal::MoveLeftovers(int scan) {
  absl::flat_hash_set<int> slots;
  {
    absl::MutexLock lock(&mu_);
    slots.swap(failed_);
    for (int i = 0; i < scan; ++i) slots.insert((next_scan_ + i) % kSlotCount);
    next_scan_ = (next_scan_ + scan) % kSlotCount;
  }
  for (int slot : slots) (void)Move(slot);
}

absl::StatusOr<std::optional<std::vector<std::string>>> RedisJournal::Reserve(
    absl::string_view principal, absl::string_view id, absl::Duration lease) {
  absl::StatusOr<RedisReply> reply =
      run_(Scripts().reserve, {shared_.indexed},
           {shared_.IndexOf(principal), shared_.ReservationsOf(principal), std::string(id),
            absl::StrCat(absl::ToInt64Milliseconds(lease))});
  if (!reply.ok()) return reply.status();
  if (reply->elements.empty() || reply->elements[0].str == "OK") {
    return std::optional<std::vector<std::string>>();
  }
  std::vector<std::string> members;
  for (size_t i = 1; i < reply->elements.size(); ++i) {
    members.push_back(std::move(reply->elements[i].str));
  }
  return std::optional<std::vector<std::string>>(std::move(members));
}

void RedisJournal::Release(absl::string_view principal, absl::string_view id) {
  const std::string key = shared_.ReservationsOf(principal);
  const std::vector<absl::string_view> release = {"HDEL", key, id};
  (void)client_->Run(key, release);
}

absl::StatusOr<std::optional<size_t>> RedisJournal::ReserveLive(
    absl::string_view id_prefix, size_t max, absl::string_view id, absl::Duration lease,
    std::optional<int64_t> deadline_ms) {
  absl::StatusOr<RedisReply> reply =
      run_(Scripts().reserve_live, {shared_.deadlines},
           {shared_.LiveOf(id_prefix), shared_.LiveReservationsOf(id_prefix), std::string(id),
            absl::StrCat(absl::ToInt64Milliseconds(lease)), absl::StrCat(max),
            deadline_ms.has_value() ? absl::StrCat(*deadline_ms) : ""});
  if (!reply.ok()) return reply.status();
  if (reply->elements.empty() || reply->elements[0].str == "OK") return std::optional<size_t>();
  size_t live = 0;
  if (reply->elements.size() != 2 || !absl::SimpleAtoi(reply->elements[1].str, &live)) {
    return absl::InternalError("reserve_live returned a reply of an unexpected shape");
  }
  return std::optional<size_t>(live);
}

void RedisJournal::ReleaseLive(absl::string_view id_prefix, absl::string_view id) {
  const std::string key = shared_.LiveReservationsOf(id_prefix);
  const std::vector<absl::string_view> release = {"ZREM", key, id};
  (void)client_->Run(key, release);
}

absl::Status RedisJournal::DropIndexEntry(absl::string_view principal, const std::string& member) {
  return run_(Scripts().drop_index_entry, {shared_.indexed}, {shared_.IndexOf(principal), member})
      .status();
}

absl::Status RedisJournal::DropDeadline(const std::string& id, const std::string& score) {
  return run_(Scripts().drop_deadline, {shared_.deadlines}, {id, score, shared_.live_prefix})
      .status();
}

}  // namespace sessiond::storage
