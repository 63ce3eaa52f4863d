#include "storage/redis_scripts.h"

#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace sessiond::storage {
namespace {

// Helpers every script starts with. KEYS are the session's three keys (main, tombstones, request
// ids); ARGV[1] is the caller's clock in Unix ms. Numbers stay below 2^53, so Lua's doubles hold
// them exactly; they are written back with %d, never with tostring's exponent form.
constexpr absl::string_view kPrelude = R"lua(
local MAIN, TOMBS, REQS = KEYS[1], KEYS[2], KEYS[3]
local NOW = tonumber(ARGV[1])
local function int(x) return string.format('%d', x) end
-- m: 1 version, 2 created, 3 idle deadline, 4 absolute, 5 idle timeout, 6 principal,
--    7 stub successor, 8 removed floor, 9 key count, 10 data bytes, 11 rotation lease
local function meta()
  return redis.call('HMGET', MAIN, '#v', '#c', '#e', '#a', '#t', '#p', '#s', '#f', '#n', '#b',
                    '#m')
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
local function meta_reply(m) return {'OK', m[1], m[2], m[3], m[4], m[5], m[6]} end
local function renew(m)
  local deadline = math.min(NOW + tonumber(m[5]), tonumber(m[4]))
  m[3] = int(deadline)
  redis.call('HSET', MAIN, '#e', m[3])
  for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, deadline - NOW) end
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
-- Turns the (emptied) keys into the record a retry of request_id finds for `window` ms.
local function make_stub(successor, version, request_id, window)
  local expires = int(NOW + window)
  redis.call('HSET', MAIN, '#s', successor, '#v', version, '#e', expires)
  redis.call('HSET', REQS, request_id, version .. ' ' .. expires .. ' 0')
  redis.call('PEXPIRE', MAIN, window)
  redis.call('PEXPIRE', REQS, window)
end
)lua";

// ARGV: now, idle timeout ms, absolute timeout ms, principal, key count, data bytes, then the
// entries' fields and values.
constexpr absl::string_view kCreate = R"lua(
if present(meta()) then return {'ALREADY_EXISTS'} end
redis.call('DEL', MAIN, TOMBS, REQS)
local absolute = NOW + tonumber(ARGV[3])
local deadline = math.min(NOW + tonumber(ARGV[2]), absolute)
local fields = {'#v', '1', '#c', int(NOW), '#e', int(deadline), '#a', int(absolute),
                '#t', ARGV[2], '#p', ARGV[4], '#f', '0', '#n', ARGV[5], '#b', ARGV[6]}
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', MAIN, unpack(fields))
redis.call('PEXPIRE', MAIN, deadline - NOW)
return {'OK', '1', int(NOW), int(deadline), int(absolute), ARGV[2], ARGV[4]}
)lua";

// ARGV: now, mode, then the keys to return (none: all). Modes: get (renew, entries), peek
// (entries), touch (renew), meta (nothing else). Returns the metadata, then field/value pairs.
constexpr absl::string_view kGet = R"lua(
local m = meta()
if not live(m) then return {'NOT_FOUND'} end
local mode = ARGV[2]
if mode == 'get' or mode == 'touch' then renew(m) end
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

// ARGV: now, idempotency window ms, max keys, max session bytes, max request ids, if_version
// ('' if none), read_version ('' if none), request_id ('' if none), then one triple per mutation:
// 's' key kind+payload | 'r' key '' | 'c' '' ''. Mirrors SessionState::Check and Commit. Extra
// outcomes: {'LIMIT', key count, old key count, data bytes, old data bytes}; {'MOVING'} while a
// rotation holds the session (retry shortly). ABORTED's keys are unsorted.
constexpr absl::string_view kApply = R"lua(
local m = meta()
if not live(m) then return {'NOT_FOUND'} end
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
for i = 9, #ARGV, 3 do
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
return meta_reply(m)
)lua";

// ARGV: now, if_version ('' if none), request_id ('' if none), idempotency window ms.
// Returns {'OK', '1'} if a live session was deleted (or this is a retry of the request that did),
// {'OK', '0'} if there was none, {'MOVING'} while a rotation holds it.
constexpr absl::string_view kDelete = R"lua(
local m = meta()
if not present(m) then return {'OK', '0'} end
if m[7] then
  if find_request(ARGV[3]) then return {'OK', '1'} end
  return {'OK', '0'}
end
if moving(m) then return {'MOVING'} end
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= tonumber(m[1]) then return {'ABORTED', m[1]} end
redis.call('DEL', MAIN, TOMBS, REQS)
if ARGV[3] ~= '' then make_stub('', m[1], ARGV[3], tonumber(ARGV[4])) end
return {'OK', '1'}
)lua";

// Step 1 of a rotation, on the old id: takes the rotation lease, so that changes wait until the
// rotation ends (or the lease does, if the rotating replica died). ARGV: now, if_version ('' if
// none), request_id, new id, lease ms. Returns {'OK', version, main fields, tombstones, request
// ids} (the last three as flat field/value arrays), {'REPLAY', new id} for a retry of the request
// that rotated it, or {'MOVING'} while another rotation holds it.
constexpr absl::string_view kRotateBegin = R"lua(
local m = meta()
if not present(m) then return {'NOT_FOUND'} end
if m[7] then
  if m[7] ~= '' and find_request(ARGV[3]) then return {'REPLAY', m[7]} end
  return {'NOT_FOUND'}
end
if moving(m) then return {'MOVING'} end
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= tonumber(m[1]) then return {'ABORTED', m[1]} end
redis.call('HSET', MAIN, '#m', ARGV[4] .. ' ' .. int(NOW + tonumber(ARGV[5])))
return {'OK', m[1], redis.call('HGETALL', MAIN), redis.call('HGETALL', TOMBS),
        redis.call('HGETALL', REQS)}
)lua";

// Step 2, on the new id: places the copy with the version one higher and the idle timer renewed.
// ARGV: now, number of main field/value arguments, number of tombstone arguments, then the main
// fields, the tombstones and the request ids as step 1 returned them.
constexpr absl::string_view kRotatePlace = R"lua(
if present(meta()) then return {'ALREADY_EXISTS'} end
redis.call('DEL', MAIN, TOMBS, REQS)
local main_end = 3 + tonumber(ARGV[2])
local tombstones_end = main_end + tonumber(ARGV[3])
local function copy(key, from, to)
  if to >= from then redis.call('HSET', key, unpack(ARGV, from, to)) end
end
copy(MAIN, 4, main_end)
copy(TOMBS, main_end + 1, tombstones_end)
copy(REQS, tombstones_end + 1, #ARGV)
redis.call('HDEL', MAIN, '#m')
local m = meta()
m[1] = int(tonumber(m[1]) + 1)
redis.call('HSET', MAIN, '#v', m[1])
renew(m)
return meta_reply(m)
)lua";

// Step 3, on the old id. ARGV: now, the version step 1 saw, request_id ('' if none), the new id,
// idempotency window ms, mode. Mode 'commit': ends the old id, leaving the retry record, if the
// lease is still this rotation's and nothing changed the session (a lease can run out); returns
// {'OK'}, or {'CHANGED'} (the caller discards the copy and starts over). Mode 'abort' (step 2
// failed): gives the lease back; returns {'OK'}.
constexpr absl::string_view kRotateEnd = R"lua(
local m = meta()
local ours = leased_to(m, ARGV[4])
if ARGV[6] == 'abort' or not live(m) or m[1] ~= ARGV[2] or not ours then
  if ours then redis.call('HDEL', MAIN, '#m') end
  if ARGV[6] == 'abort' then return {'OK'} end
  return {'CHANGED'}
end
redis.call('DEL', MAIN, TOMBS, REQS)
if ARGV[3] ~= '' then
  make_stub(ARGV[4], int(tonumber(ARGV[2]) + 1), ARGV[3], tonumber(ARGV[5]))
end
return {'OK'}
)lua";

// Deletes KEYS[1] (a Create's claim of its request_id) if it still names ARGV[2] (ARGV[1] is the
// caller's clock, unused).
constexpr absl::string_view kReleaseClaim = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[2] then redis.call('DEL', KEYS[1]) end
return {'OK'}
)lua";

RedisScript Build(absl::string_view name, absl::string_view body, bool with_prelude) {
  RedisScript script{name, with_prelude ? absl::StrCat(kPrelude, body) : std::string(body), ""};
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(script.body.data()), script.body.size(), digest);
  script.sha1 = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
  return script;
}

}  // namespace

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

const RedisScript& RedisReleaseClaimScript() {
  static const RedisScript* script = new RedisScript(Build("release_claim", kReleaseClaim, false));
  return *script;
}

}  // namespace sessiond::storage
