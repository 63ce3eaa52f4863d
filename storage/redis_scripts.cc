#include "storage/redis_scripts.h"

#include <openssl/sha.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sessiond::storage {
namespace {

// Helpers every script starts with; the script's own code then runs as the body of run(), and
// kEpilogue puts the sequence of the last event it appended in front of its reply (in a cluster,
// '1' if it appended to the slot's journal). KEYS are the session's three keys (main, tombstones,
// request ids) and, standalone, the shared keys; in a cluster, the journal of the session's slot
// (redis_journal.h). ARGV[1]
// is the config: the caller's clock in Unix ms, the gone retention ms, the event retention, the
// TTL slack ms, '1' to record touches, the principal cap (0: none) and its policy ('reject' or
// 'evict'), separated by spaces. Numbers stay below 2^53, so Lua's doubles hold them exactly;
// they are written back with %d, never with tostring's exponent form.
constexpr absl::string_view kPrelude = R"lua(
local MAIN, TOMBS, REQS = KEYS[1], KEYS[2], KEYS[3]
-- Standalone: the shared keys follow (deadlines, event sequence, event stream, index entry
-- count), and every script keeps them exact. Cluster: the slot's journal follows instead, and
-- each change to the shared keys is appended to it, to be applied by the journal's mover.
local GLOBAL = #KEYS > 4
local JOURNAL = #KEYS == 4 and KEYS[4]
local DEADLINES, SEQ, EVENTS, INDEXED = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local config = {}
for field in string.gmatch(ARGV[1], '%S+') do config[#config + 1] = field end
local NOW, GONE_MS, RETENTION = tonumber(config[1]), tonumber(config[2]), config[3]
local SLACK, TOUCHES = tonumber(config[4]), config[5] == '1'
local CAP, EVICT = tonumber(config[6]), config[7] == 'evict'
local PREFIX, ID = string.match(MAIN, '^(.*):{([^{}]*)}$')
if GLOBAL then PREFIX = string.sub(DEADLINES, 1, -3) end
local function int(x) return string.format('%d', x) end
local function keys_of(id)
  local main = PREFIX .. ':{' .. id .. '}'
  return {main, main .. ':t', main .. ':r'}
end
local SELF = {MAIN, TOMBS, REQS}
-- m: 1 version, 2 created, 3 idle deadline, 4 absolute, 5 idle timeout, 6 principal,
--    7 stub successor, 8 removed floor, 9 key count, 10 data bytes, 11 rotation lease,
--    12 last access, 13 labels, 14 why a stub's session ended ("<reason> <ended ms>")
local function meta_of(key)
  return redis.call('HMGET', key, '#v', '#c', '#e', '#a', '#t', '#p', '#s', '#f', '#n', '#b',
                    '#m', '#x', '#l', '#g')
end
local function present(m) return m[1] and tonumber(m[3]) > NOW end
local function live(m) return present(m) and not m[7] end
-- Whether a rotation holds the session (#m = "<new id> <lease end ms>", lease not over): changes
-- wait for it, so that the copy it makes misses none.
local function moving(m)
  return m[11] and tonumber(string.match(m[11], ' (%d+)$')) > NOW
end
-- Whether the rotation lease is the one taken for `new_id`.
local function leased_to(m, new_id)
  return m[11] and string.sub(m[11], 1, #new_id + 1) == new_id .. ' '
end
local function meta_reply(m)
  return {'OK', m[1], m[2], m[3], m[4], m[5], m[6], m[12] or m[2], m[13] or ''}
end
local function not_found(m)
  if present(m) and m[14] then
    local reason, ended = string.match(m[14], '^(%d+) (%d+)$')
    return {'NOT_FOUND', reason, ended}
  end
  return {'NOT_FOUND'}
end

-- The event stream: one entry per change, id 0-<sequence>, appended in the script that changes.
-- In a cluster, the change goes to the slot's journal: field 'o' says what to apply ('e' an
-- event, whose fields follow; '+' or '-' an index member 'm' of principal 'p'; 'l' session 'i'
-- joins its tenant's live set (below); 'd' the deadline entry of session 'i' goes, and its
-- tenant's live entry).
local LAST_SEQ = 0
local function journal(fields)
  redis.call('XADD', JOURNAL, '*', unpack(fields))
  LAST_SEQ = 1
end
local function emit(kind, id, principal, version, at, extra)
  if not GLOBAL and not JOURNAL then return end
  local fields = {'k', kind, 'i', id, 'p', principal or '', 'v', version, 't', int(at)}
  for _, field in ipairs(extra or {}) do fields[#fields + 1] = field end
  if JOURNAL then
    table.insert(fields, 1, 'o')
    table.insert(fields, 2, 'e')
    return journal(fields)
  end
  LAST_SEQ = redis.call('INCR', SEQ)
  redis.call('XADD', EVENTS, 'MAXLEN', '~', RETENTION, '0-' .. LAST_SEQ, unpack(fields))
end
local function touched(m)
  if TOUCHES then emit(4, ID, m[6], m[1], NOW) end
end

-- The principal index: a sorted set per principal, members "<created ms, 15 digits>:<id>" at
-- score 0, so that lexicographic order is creation order, then id.
local function index_key(principal) return PREFIX .. ':i:' .. principal end
local function member(created, id) return string.format('%015d', tonumber(created)) .. ':' .. id end
local function index_add(principal, created, id)
  if JOURNAL and principal ~= '' then
    journal({'o', '+', 'p', principal, 'm', member(created, id)})
  elseif GLOBAL and principal ~= '' and
      redis.call('ZADD', index_key(principal), 0, member(created, id)) == 1 then
    redis.call('INCR', INDEXED)
  end
end
local function index_remove(principal, entry)
  if JOURNAL and principal and principal ~= '' then
    journal({'o', '-', 'p', principal, 'm', entry})
  elseif GLOBAL and principal and principal ~= '' and
      redis.call('ZREM', index_key(principal), entry) == 1 then
    redis.call('DECR', INDEXED)
  end
end

-- Each tenant's live sessions (ids '<tenant>~<id>', tenant_store.h), a sorted set
-- P:l:<tenant>~ of ids at their absolute expiry (ms), which renewals never move: a tenant's cap
-- counts the members not yet past it (an idle-expired session counts until it ends, at the latest
-- when the sweep reaches it). Ids without a tenant have none. In a cluster the set is in the
-- shared slot: an added session goes to the journal ('l': id 'i' at absolute expiry 'a'), and an
-- ended one leaves with its deadline entry ('d').
local function tenant_key(id)
  local tenant = GLOBAL and tenant_of(id)
  return tenant and PREFIX .. ':l:' .. tenant
end
local function tenant_add(id, absolute)
  if JOURNAL and tenant_of(id) then
    journal({'o', 'l', 'i', id, 'a', int(tonumber(absolute))})
  end
  local key = tenant_key(id)
  if key then redis.call('ZADD', key, absolute, id) end
end
local function tenant_remove(id)
  local key = tenant_key(id)
  if key then redis.call('ZREM', key, id) end
end

-- Ends the session `id` (keys k, metadata m): out of the deadlines and the index, its keys
-- replaced by a stub that says why (`reason`, session.h's GoneReason, at `ended` ms), kept for
-- the gone retention and, with a request_id, its idempotency window (`window` ms). The stub's
-- version is `version`, its successor the id a rotation gave the session ('' otherwise).
local function finish(k, id, m, reason, ended, successor, version, request_id, window)
  if GLOBAL then redis.call('ZREM', DEADLINES, id) end
  tenant_remove(id)
  if JOURNAL then journal({'o', 'd', 'i', id}) end
  index_remove(m[6], member(m[2], id))
  redis.call('DEL', k[1], k[2], k[3])
  local keep = GONE_MS
  if request_id ~= '' then keep = math.max(keep, window) end
  if keep <= 0 then return end
  redis.call('HSET', k[1], '#s', successor, '#v', version, '#e', int(NOW + keep), '#g',
             reason .. ' ' .. int(ended))
  redis.call('PEXPIRE', k[1], keep)
  if request_id ~= '' then
    redis.call('HSET', k[3], request_id, version .. ' ' .. int(NOW + window) .. ' 0')
    redis.call('PEXPIRE', k[3], window)
  end
end
-- The event kind (session_event.h) of an ending for each GoneReason.
local ENDING = {5, 5, 6, 7, 8, 6}
-- Ends the session for `reason` at `ended` with its event.
local function end_session(k, id, m, reason, ended, request_id, window)
  emit(ENDING[reason], id, m[6], m[1], ended, {'r', reason})
  finish(k, id, m, reason, ended, '', m[1], request_id or '', window or 0)
end
-- Ends the session, which passed its idle deadline, as expired at that deadline.
local function expire(k, id, m)
  local deadline = tonumber(m[3])
  end_session(k, id, m, deadline >= tonumber(m[4]) and 2 or 1, deadline)
end
-- The metadata of the session under k: live, a stub, or nothing (m[1] nil). A session found past
-- its deadline ends first (so it is a stub, or nothing, after).
local function load(k, id)
  local m = meta_of(k[1])
  if m[1] and not m[7] and tonumber(m[3]) <= NOW then
    expire(k, id, m)
    m = meta_of(k[1])
  end
  return m
end
local function renew(m)
  local deadline = math.min(NOW + tonumber(m[5]), tonumber(m[4]))
  m[3], m[12] = int(deadline), int(NOW)
  redis.call('HSET', MAIN, '#e', m[3], '#x', m[12])
  for _, key in ipairs(SELF) do redis.call('PEXPIRE', key, deadline - NOW + SLACK) end
  if GLOBAL then redis.call('ZADD', DEADLINES, deadline, ID) end
end

-- Makes room for one more session of `principal` under the cap: true if there is room (after
-- ending its least recently used sessions, with policy evict), false if the cap refuses. Ends
-- the expired sessions and drops the stale entries it finds on the way.
local function admit(principal)
  if not GLOBAL or CAP == 0 or principal == '' then return true end
  local idx = index_key(principal)
  if redis.call('ZCARD', idx) < CAP then return true end
  local alive = {}
  for _, entry in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
    local id = string.sub(entry, 17)
    local k = keys_of(id)
    local m = load(k, id)
    if live(m) and m[6] == principal then
      alive[#alive + 1] = {id, k, m, tonumber(m[12] or m[2])}
    else
      index_remove(principal, entry)
    end
  end
  if #alive < CAP then return true end
  if not EVICT then return false end
  table.sort(alive, function(a, b) return a[4] < b[4] or (a[4] == b[4] and a[1] < b[1]) end)
  for i = 1, #alive - CAP + 1 do end_session(alive[i][2], alive[i][1], alive[i][3], 5, NOW) end
  return true
end

-- An entry's stored value: its version, and the size of its payload.
local function parse_entry(value)
  local space = string.find(value, ' ', 1, true)
  return tonumber(string.sub(value, 1, space - 1)), #value - space - 1
end
-- The version a request_id left the session at, if it is remembered and not expired.
local function find_request(request_id)
  if request_id == '' then return nil end
  local record = redis.call('HGET', REQS, request_id)
  if not record then return nil end
  local version, expires = string.match(record, '^(%d+) (%d+)')
  if NOW < tonumber(expires) then return version end
  return nil
end
-- Remembers request_id as having left the session at `version`: forgets expired ones, then the
-- oldest beyond max_ids (session_state.h's RecordRequest).
local function record_request(request_id, version, window, max_ids)
  local keep = math.max(max_ids, 1) - 1
  if redis.call('HLEN', REQS) > keep then
    local records, kept = redis.call('HGETALL', REQS), {}
    for i = 1, #records, 2 do
      local expires, sequence = string.match(records[i + 1], '^%d+ (%d+) (%d+)')
      if tonumber(expires) <= NOW or records[i] == request_id then
        redis.call('HDEL', REQS, records[i])
      else
        kept[#kept + 1] = {records[i], tonumber(sequence)}
      end
    end
    table.sort(kept, function(a, b) return a[2] < b[2] end)
    for i = 1, #kept - keep do redis.call('HDEL', REQS, kept[i][1]) end
  end
  local sequence = redis.call('HINCRBY', MAIN, '#q', 1)
  redis.call('HSET', REQS, request_id, version .. ' ' .. int(NOW + window) .. ' ' .. sequence)
end
local function run()
)lua";

// Closes the function kPrelude opened: the reply gets the last event sequence the script
// appended ("0": none) in front.
constexpr absl::string_view kEpilogue = R"lua(
end
local reply = run()
table.insert(reply, 1, int(LAST_SEQ))
return reply
)lua";

// ARGV: config, idle timeout ms, absolute timeout ms, principal, key count, data bytes, labels,
// the tenant's live cap (standalone; 0: none), then the entries' fields and values. Extra
// outcomes: {'LIVE_CAP', live sessions} (checked first: it evicts nothing), {'PRINCIPAL_CAP'}.
constexpr absl::string_view kCreate = R"lua(
if present(load(SELF, ID)) then return {'ALREADY_EXISTS'} end
local live_cap = tonumber(ARGV[8])
if live_cap > 0 then
  local count = redis.call('ZCOUNT', tenant_key(ID), '(' .. int(NOW), '+inf')
  if count >= live_cap then return {'LIVE_CAP', int(count)} end
end
local principal = ARGV[4]
if not admit(principal) then return {'PRINCIPAL_CAP'} end
redis.call('DEL', MAIN, TOMBS, REQS)
local absolute = NOW + tonumber(ARGV[3])
local deadline = math.min(NOW + tonumber(ARGV[2]), absolute)
local fields = {'#v', '1', '#c', int(NOW), '#e', int(deadline), '#a', int(absolute),
                '#t', ARGV[2], '#p', principal, '#f', '0', '#n', ARGV[5], '#b', ARGV[6],
                '#x', int(NOW), '#l', ARGV[7]}
for i = 9, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', MAIN, unpack(fields))
redis.call('PEXPIRE', MAIN, deadline - NOW + SLACK)
if GLOBAL then redis.call('ZADD', DEADLINES, deadline, ID) end
tenant_add(ID, absolute)
index_add(principal, NOW, ID)
emit(1, ID, principal, '1', NOW)
return {'OK', '1', int(NOW), int(deadline), int(absolute), ARGV[2], principal, int(NOW), ARGV[7]}
)lua";

// ARGV: config, mode, then the keys to return (none: all). Modes: get (renew, entries), peek
// (entries), touch (renew), meta (nothing else). Returns the metadata, then field/value pairs.
constexpr absl::string_view kGet = R"lua(
local m = load(SELF, ID)
if not live(m) then return not_found(m) end
local mode = ARGV[2]
if mode == 'get' or mode == 'touch' then
  renew(m)
  touched(m)
end
local reply = meta_reply(m)
if mode == 'get' or mode == 'peek' then
  if #ARGV == 2 then
    local all = redis.call('HGETALL', MAIN)
    for i = 1, #all, 2 do
      if string.byte(all[i], 1) == 61 then
        reply[#reply + 1] = all[i]
        reply[#reply + 1] = all[i + 1]
      end
    end
  else
    local fields = {}
    for i = 3, #ARGV do fields[#fields + 1] = '=' .. ARGV[i] end
    local values = redis.call('HMGET', MAIN, unpack(fields))
    for i = 1, #fields do
      if values[i] then
        reply[#reply + 1] = fields[i]
        reply[#reply + 1] = values[i]
      end
    end
  end
end
return reply
)lua";

// ARGV: config, idempotency window ms, max keys, max session bytes, max request ids, if_version
// ('' if none), read_version ('' if none), request_id ('' if none), the changed keys of the
// updated event (encoded by the caller), '1' if the batch clears, then one triple per mutation:
// 's' key kind+payload | 'r' key '' | 'c' '' ''. Mirrors SessionState::Check and Commit. Extra
// outcomes: {'LIMIT', key count, old key count, data bytes, old data bytes}; {'MOVING'} while a
// rotation holds the session (retry shortly). ABORTED's keys are unsorted.
constexpr absl::string_view kApply = R"lua(
local m = load(SELF, ID)
if not live(m) then return not_found(m) end
local request_id = ARGV[8]
local replayed = find_request(request_id)
if replayed then
  m[1] = replayed
  return meta_reply(m)
end
if moving(m) then return {'MOVING'} end
local version = tonumber(m[1])
if ARGV[6] ~= '' and tonumber(ARGV[6]) ~= version then return {'ABORTED', m[1]} end

-- written: the keys the batch sets or removes, once each.
local ops, clears, written, is_written = {}, false, {}, {}
for i = 11, #ARGV, 3 do
  local op = {ARGV[i], ARGV[i + 1], ARGV[i + 2]}
  ops[#ops + 1] = op
  if op[1] == 'c' then
    clears = true
  elseif not is_written[op[2]] then
    is_written[op[2]] = true
    written[#written + 1] = op[2]
  end
end
-- stored[key] = {version, payload size} for the written keys that have an entry.
local stored = {}
if #written > 0 then
  local fields = {}
  for i, key in ipairs(written) do fields[i] = '=' .. key end
  local values = redis.call('HMGET', MAIN, unpack(fields))
  for i, key in ipairs(written) do
    if values[i] then stored[key] = {parse_entry(values[i])} end
  end
end
-- Every entry's version by key, loaded only when a clear needs them.
local all_entries
local function entries()
  if not all_entries then
    all_entries = {}
    local all = redis.call('HGETALL', MAIN)
    for i = 1, #all, 2 do
      if string.byte(all[i], 1) == 61 then
        all_entries[string.sub(all[i], 2)] = (parse_entry(all[i + 1]))
      end
    end
  end
  return all_entries
end

if ARGV[7] ~= '' then
  local read_version = tonumber(ARGV[7])
  if read_version > version then return {'FAILED_PRECONDITION', m[1]} end
  local conflicts, named = {'ABORTED', m[1]}, {}
  local function conflict(key)
    if not named[key] then
      named[key] = true
      conflicts[#conflicts + 1] = key
    end
  end
  if clears then
    for key, entry_version in pairs(entries()) do
      if entry_version > read_version then conflict(key) end
    end
    local tombstones = redis.call('HGETALL', TOMBS)
    for i = 1, #tombstones, 2 do
      if tonumber(tombstones[i + 1]) > read_version then conflict(tombstones[i]) end
    end
  end
  local unstored = {}
  for _, key in ipairs(written) do
    if stored[key] then
      if stored[key][1] > read_version then conflict(key) end
    else
      unstored[#unstored + 1] = key
    end
  end
  if #unstored > 0 then
    local removed_at = redis.call('HMGET', TOMBS, unpack(unstored))
    for i, key in ipairs(unstored) do
      if tonumber(removed_at[i] or m[8]) > read_version then conflict(key) end
    end
  end
  if #conflicts > 2 then return conflicts end
end

-- The batch on sizes only: overlay[key] is a key's payload size after the mutations so far, or
-- false once removed; after a clear no stored entry counts.
local old_count, old_bytes = tonumber(m[9]), tonumber(m[10])
local count, bytes, changes, overlay, cleared = old_count, old_bytes, false, {}, false
local function current_size(key)
  local size = overlay[key]
  if size ~= nil then return size or nil end
  if not cleared and stored[key] then return stored[key][2] end
  return nil
end
for _, op in ipairs(ops) do
  if op[1] == 's' then
    local old = current_size(op[2])
    if old then bytes = bytes - #op[2] - old else count = count + 1 end
    overlay[op[2]] = #op[3] - 1
    bytes = bytes + #op[2] + overlay[op[2]]
    changes = true
  elseif op[1] == 'r' then
    local old = current_size(op[2])
    if old then
      bytes = bytes - #op[2] - old
      count = count - 1
      changes = true
    end
    overlay[op[2]] = false
  else
    changes = changes or count > 0
    count, bytes, overlay, cleared = 0, 0, {}, true
  end
end
local max_keys, max_bytes = tonumber(ARGV[3]), tonumber(ARGV[4])
if (count > max_keys and count > old_count) or (bytes > max_bytes and bytes > old_bytes) then
  return {'LIMIT', int(count), int(old_count), int(bytes), int(old_bytes)}
end

if changes then
  version = version + 1
  local new_version = int(version)
  -- The batch's final effect on each key it names (a value, or false: removed).
  local final = {}
  for _, op in ipairs(ops) do
    if op[1] == 's' then final[op[2]] = op[3]
    elseif op[1] == 'r' then final[op[2]] = false
    else final = {} end
  end
  local removed = {}
  if cleared then
    for key in pairs(entries()) do
      if not final[key] then removed[#removed + 1] = key end
    end
  end
  for key, value in pairs(final) do
    if value then
      redis.call('HSET', MAIN, '=' .. key, new_version .. ' ' .. value)
      redis.call('HDEL', TOMBS, key)
    elseif not cleared and stored[key] then
      removed[#removed + 1] = key
    end
  end
  local floor = tonumber(m[8])
  for _, key in ipairs(removed) do
    redis.call('HDEL', MAIN, '=' .. key)
    redis.call('HSET', TOMBS, key, new_version)
  end
  local max_tombstones = math.max(max_keys, 1)
  if #removed > 0 and redis.call('HLEN', TOMBS) > max_tombstones then
    -- Forget the oldest removals; the newest of them becomes the floor.
    local tombstones, by_version = redis.call('HGETALL', TOMBS), {}
    for i = 1, #tombstones, 2 do
      by_version[#by_version + 1] = {tombstones[i], tonumber(tombstones[i + 1])}
    end
    table.sort(by_version, function(a, b) return a[2] < b[2] end)
    local excess = #by_version - max_tombstones
    for i = 1, excess do redis.call('HDEL', TOMBS, by_version[i][1]) end
    floor = math.max(floor, by_version[excess][2])
  end
  redis.call('HSET', MAIN, '#v', new_version, '#n', int(count), '#b', int(bytes), '#f', int(floor))
  m[1] = new_version
end
if request_id ~= '' then
  record_request(request_id, m[1], tonumber(ARGV[2]), tonumber(ARGV[5]))
end
renew(m)
if changes then
  emit(2, ID, m[6], m[1], NOW, {'c', ARGV[9], 'x', ARGV[10]})
else
  touched(m)
end
return meta_reply(m)
)lua";

// ARGV: config, if_version ('' if none), request_id ('' if none), idempotency window ms.
// Returns {'OK', '1'} if a live session was deleted (or this is a retry of the request that did),
// {'OK', '0'} if there was none, {'MOVING'} while a rotation holds it.
constexpr absl::string_view kDelete = R"lua(
local m = load(SELF, ID)
if not present(m) then return {'OK', '0'} end
if m[7] then
  if find_request(ARGV[3]) then return {'OK', '1'} end
  return {'OK', '0'}
end
if moving(m) then return {'MOVING'} end
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= tonumber(m[1]) then return {'ABORTED', m[1]} end
end_session(SELF, ID, m, 3, NOW, ARGV[3], tonumber(ARGV[4]))
return {'OK', '1'}
)lua";

// Step 1 of a rotation, on the old id: takes the rotation lease, so that changes wait until the
// rotation ends (or the lease does, if the rotating replica died). ARGV: config, if_version (''
// if none), request_id, new id, lease ms. Returns {'OK', version, main fields, tombstones, request
// ids} (the last three as flat field/value arrays), {'REPLAY', new id} for a retry of the request
// that rotated it, or {'MOVING'} while another rotation holds it.
constexpr absl::string_view kRotateBegin = R"lua(
local m = load(SELF, ID)
if not present(m) then return not_found(m) end
if m[7] then
  if m[7] ~= '' and find_request(ARGV[3]) then return {'REPLAY', m[7]} end
  return not_found(m)
end
if moving(m) then return {'MOVING'} end
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= tonumber(m[1]) then return {'ABORTED', m[1]} end
redis.call('HSET', MAIN, '#m', ARGV[4] .. ' ' .. int(NOW + tonumber(ARGV[5])))
return {'OK', m[1], redis.call('HGETALL', MAIN), redis.call('HGETALL', TOMBS),
        redis.call('HGETALL', REQS)}
)lua";

// Step 2, on the new id: places the copy with the version one higher, the idle timer renewed and
// the principal bound if asked. ARGV: config, principal to bind ('=' before it; '' to keep),
// number of main field/value arguments, number of tombstone arguments, then the main fields, the
// tombstones and the request ids as step 1 returned them.
constexpr absl::string_view kRotatePlace = R"lua(
if present(load(SELF, ID)) then return {'ALREADY_EXISTS'} end
redis.call('DEL', MAIN, TOMBS, REQS)
local main_end = 4 + tonumber(ARGV[3])
local tombstones_end = main_end + tonumber(ARGV[4])
local function copy(key, from, to)
  if to >= from then redis.call('HSET', key, unpack(ARGV, from, to)) end
end
copy(MAIN, 5, main_end)
copy(TOMBS, main_end + 1, tombstones_end)
copy(REQS, tombstones_end + 1, #ARGV)
redis.call('HDEL', MAIN, '#m')
if ARGV[2] ~= '' then redis.call('HSET', MAIN, '#p', string.sub(ARGV[2], 2)) end
local m = meta_of(MAIN)
m[1] = int(tonumber(m[1]) + 1)
redis.call('HSET', MAIN, '#v', m[1])
renew(m)
return meta_reply(m)
)lua";

// Step 3, on the old id. ARGV: config, the version step 1 saw, request_id ('' if none), the new
// id, idempotency window ms, mode, principal to bind ('=' before it; '' to keep). Mode 'commit':
// ends the old id, leaving the retry record, moves the index entry (and the tenant's live entry)
// to the new id under its principal (the cap admitting it) and records the rotation, if the lease
// is still this rotation's and nothing changed the session (a lease can run out); returns {'OK'},
// {'CHANGED'} (the caller discards the copy and starts over) or {'PRINCIPAL_CAP'} (the caller
// discards the copy; the lease is given back). Mode 'abort' (step 2 failed): gives the lease back;
// returns
// {'OK'}.
constexpr absl::string_view kRotateEnd = R"lua(
local m = load(SELF, ID)
local ours = leased_to(m, ARGV[4])
if ARGV[6] == 'abort' or not live(m) or m[1] ~= ARGV[2] or not ours then
  if ours then redis.call('HDEL', MAIN, '#m') end
  if ARGV[6] == 'abort' then return {'OK'} end
  return {'CHANGED'}
end
local principal = m[6]
if ARGV[7] ~= '' then principal = string.sub(ARGV[7], 2) end
if principal ~= m[6] and not admit(principal) then
  redis.call('HDEL', MAIN, '#m')
  return {'PRINCIPAL_CAP'}
end
local version = int(tonumber(ARGV[2]) + 1)
emit(3, ID, principal, version, NOW, {'n', ARGV[4]})
finish(SELF, ID, m, 6, NOW, ARGV[4], version, ARGV[3], tonumber(ARGV[5]))
index_add(principal, m[2], ARGV[4])
tenant_add(ARGV[4], m[4])
return {'OK'}
)lua";

// Standalone only (the script reaches keys of any session). ARGV: config, batch size. Ends up to
// a batch of the sessions past their deadline, recording each expiry; returns {'OK', how many
// ended, '1' if more may be due}.
constexpr absl::string_view kSweep = R"lua(
local due = redis.call('ZRANGEBYSCORE', DEADLINES, '-inf', NOW, 'LIMIT', 0, tonumber(ARGV[2]))
local ended = 0
for _, id in ipairs(due) do
  local k = keys_of(id)
  local m = meta_of(k[1])
  if m[1] and not m[7] and tonumber(m[3]) <= NOW then
    expire(k, id, m)
    ended = ended + 1
  elseif m[1] and not m[7] then
    redis.call('ZADD', DEADLINES, m[3], id)
  else
    redis.call('ZREM', DEADLINES, id)
    tenant_remove(id)
  end
end
return {'OK', int(ended), #due == tonumber(ARGV[2]) and '1' or '0'}
)lua";

// Standalone only. ARGV: config, principal, the index member to start after ('' for the newest),
// how many sessions at most. Returns {'OK', then per live session of the principal, newest
// first: id, version, created, idle deadline, absolute expiry, idle timeout, principal, last
// access, labels}. Renews nothing; ends the expired sessions it meets.
constexpr absl::string_view kList = R"lua(
local principal, limit = ARGV[2], tonumber(ARGV[4])
local idx = index_key(principal)
local reply, found = {'OK'}, 0
local after = ARGV[3] == '' and '+' or '(' .. ARGV[3]
while found < limit do
  local batch = redis.call('ZRANGE', idx, after, '-', 'BYLEX', 'REV', 'LIMIT', 0, limit - found)
  if #batch == 0 then break end
  for _, entry in ipairs(batch) do
    local id = string.sub(entry, 17)
    local m = load(keys_of(id), id)
    if live(m) and m[6] == principal then
      found = found + 1
      reply[#reply + 1] = id
      local fields = meta_reply(m)
      for i = 2, #fields do reply[#reply + 1] = fields[i] end
    else
      index_remove(principal, entry)
    end
  end
  after = '(' .. batch[#batch]
end
return reply
)lua";

// Standalone only. ARGV: config, principal, the most sessions to end, then the ids to keep.
// Ends the principal's live sessions but those, each recorded as revoked; returns {'OK', how
// many ended, '1' if more may remain}.
constexpr absl::string_view kRevoke = R"lua(
local principal, most = ARGV[2], tonumber(ARGV[3])
local keep = {}
for i = 4, #ARGV do keep[ARGV[i]] = true end
local idx = index_key(principal)
local revoked, kept = 0, 0
while revoked < most do
  local batch = redis.call('ZRANGE', idx, kept, kept + 99)
  if #batch == 0 then return {'OK', int(revoked), '0'} end
  for _, entry in ipairs(batch) do
    local id = string.sub(entry, 17)
    if keep[id] then
      kept = kept + 1
    else
      local k = keys_of(id)
      local m = load(k, id)
      if live(m) and m[6] == principal then
        end_session(k, id, m, 4, NOW)
        revoked = revoked + 1
      end
      index_remove(principal, entry)
    end
  end
end
return {'OK', int(revoked), '1'}
)lua";

// Cluster only (redis_journal.h), on a session the deadline set says may be due. ARGV: config.
// Ends it, recording the expiry, if its idle deadline has passed; returns {'ENDED'}, {'LIVE',
// idle deadline} or {'GONE'} (no live session: it ended already, or was never created).
constexpr absl::string_view kSweepOne = R"lua(
local m = meta_of(MAIN)
if not m[1] or m[7] then return {'GONE'} end
if tonumber(m[3]) > NOW then return {'LIVE', m[3]} end
expire(SELF, ID, m)
return {'ENDED'}
)lua";

// Cluster only, on one session the principal index names. ARGV: config, principal, GoneReason
// (revoked or evicted). Ends the session for that reason if it is live and the principal's;
// returns {'OK', '1'} if it did, {'OK', '0'} if not, {'OK', '0', new id} if it was rotated to
// that id (kept while its stub is).
constexpr absl::string_view kEndOfPrincipal = R"lua(
local m = load(SELF, ID)
if live(m) and m[6] == ARGV[2] then
  end_session(SELF, ID, m, tonumber(ARGV[3]), NOW)
  return {'OK', '1'}
end
if present(m) and m[7] and m[7] ~= '' then return {'OK', '0', m[7]} end
return {'OK', '0'}
)lua";

// Deletes KEYS[1] (a Create's claim of its request_id) if it still names ARGV[2] (ARGV[1] is the
// caller's config, unused).
constexpr absl::string_view kReleaseClaim = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[2] then redis.call('DEL', KEYS[1]) end
return {'0', 'OK'}
)lua";

RedisScript Build(absl::string_view name, absl::string_view body, bool with_prelude) {
  return MakeRedisScript(name, with_prelude
                                   ? absl::StrCat(kRedisLuaTenantOf, kPrelude, body, kEpilogue)
                                   : std::string(body));
}

}  // namespace

RedisScript MakeRedisScript(absl::string_view name, std::string body) {
  RedisScript script{name, std::move(body), ""};
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(script.body.data()), script.body.size(), digest);
  script.sha1 = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
  return script;
}

std::string RedisEncodeList(absl::Span<const std::string> strings) {
  std::string out;
  for (const std::string& string : strings) absl::StrAppend(&out, string.size(), ":", string);
  return out;
}

absl::StatusOr<std::vector<std::string>> RedisDecodeList(absl::string_view encoded) {
  std::vector<std::string> strings;
  while (!encoded.empty()) {
    const size_t colon = encoded.find(':');
    size_t length = 0;
    if (colon == absl::string_view::npos || !absl::SimpleAtoi(encoded.substr(0, colon), &length) ||
        length > encoded.size() - colon - 1) {
      return absl::DataLossError("Redis holds a malformed list (labels or changed keys)");
    }
    strings.emplace_back(encoded.substr(colon + 1, length));
    encoded.remove_prefix(colon + 1 + length);
  }
  return strings;
}

const RedisScript& RedisCreateScript() {
  static const RedisScript* script = new RedisScript(Build("create", kCreate, true));
  return *script;
}

const RedisScript& RedisGetScript() {
  static const RedisScript* script = new RedisScript(Build("get", kGet, true));
  return *script;
}

const RedisScript& RedisApplyScript() {
  static const RedisScript* script = new RedisScript(Build("apply", kApply, true));
  return *script;
}

const RedisScript& RedisDeleteScript() {
  static const RedisScript* script = new RedisScript(Build("delete", kDelete, true));
  return *script;
}

const RedisScript& RedisRotateBeginScript() {
  static const RedisScript* script = new RedisScript(Build("rotate_begin", kRotateBegin, true));
  return *script;
}

const RedisScript& RedisRotatePlaceScript() {
  static const RedisScript* script = new RedisScript(Build("rotate_place", kRotatePlace, true));
  return *script;
}

const RedisScript& RedisRotateEndScript() {
  static const RedisScript* script = new RedisScript(Build("rotate_end", kRotateEnd, true));
  return *script;
}

const RedisScript& RedisSweepScript() {
  static const RedisScript* script = new RedisScript(Build("sweep", kSweep, true));
  return *script;
}

const RedisScript& RedisListScript() {
  static const RedisScript* script = new RedisScript(Build("list", kList, true));
  return *script;
}

const RedisScript& RedisRevokeScript() {
  static const RedisScript* script = new RedisScript(Build("revoke", kRevoke, true));
  return *script;
}

const RedisScript& RedisSweepOneScript() {
  static const RedisScript* script = new RedisScript(Build("sweep_one", kSweepOne, true));
  return *script;
}

const RedisScript& RedisEndOfPrincipalScript() {
  static const RedisScript* script =
      new RedisScript(Build("end_of_principal", kEndOfPrincipal, true));
  return *script;
}

const RedisScript& RedisReleaseClaimScript() {
  static const RedisScript* script = new RedisScript(Build("release_claim", kReleaseClaim, false));
  return *script;
}

}  // namespace sessiond::storage
