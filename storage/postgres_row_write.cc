#include "storage/postgres_row_write.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sessiond::storage {
namespace {

int64_t Millis(absl::Time time) { return absl::ToUnixMillis(time); }

// An int8[] or bool[] parameter in text form: "{1,2,NULL}".
PgParam TextArray(const std::vector<std::string>& elements) {
  return PgParam::Text(absl::StrCat("{", absl::StrJoin(elements, ","), "}"));
}

}  // namespace

void PgRowWrite::Place(StoredSession& session, bool fresh) {
  session.indexed_deadline = session.meta.idle_expires_at;
  const SessionMeta& meta = session.meta;
  const bool indexed = !session.stub && !meta.principal.empty();
  ids_.emplace_back(meta.id);
  deadlines_.push_back(absl::StrCat(Millis(meta.idle_expires_at)));
  stubs_.push_back(session.stub ? "t" : "f");
  records_.emplace_back(EncodeSession(session));
  principals_.push_back(indexed ? std::optional<std::string>(meta.principal) : std::nullopt);
  created_.push_back(session.stub ? "NULL" : absl::StrCat(Millis(meta.created_at)));
  last_access_.push_back(session.stub ? "NULL" : absl::StrCat(Millis(meta.last_access_at)));
  if (fresh) fresh_.emplace_back(meta.id);
}

void PgRowWrite::Remove(const std::string& id) { removed_.emplace_back(id); }

void PgRowWrite::Record(SessionEvent event) { events_.push_back(std::move(event)); }

std::vector<PgParam> PgRowWrite::Params(absl::Time now) const {
  std::vector<std::optional<std::string>> events;
  for (const SessionEvent& event : events_) events.emplace_back(EncodeEvent(event));
  return {PgParam::ByteaArray(removed_), PgParam::ByteaArray(ids_),
          TextArray(deadlines_),         TextArray(stubs_),
          PgParam::ByteaArray(records_), PgParam::ByteaArray(principals_),
          TextArray(created_),           TextArray(last_access_),
          PgParam::ByteaArray(fresh_),   PgParam::Number(Millis(now)),
          PgParam::ByteaArray(events)};
}

absl::Status PgRowWrite::Outcome(int64_t placed, int64_t first_fresh) const {
  if (placed == static_cast<int64_t>(ids_.size())) return absl::OkStatus();
  if (!fresh_.empty() && first_fresh == 0) {
    return absl::AlreadyExistsError("a session with this id exists or ended recently");
  }
  return absl::AbortedError("a concurrent transaction took the row first");
}

}  // namespace sessiond::storage
