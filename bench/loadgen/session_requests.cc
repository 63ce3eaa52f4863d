#include "bench/loadgen/session_requests.h"

#include "bench/loadgen/workload.h"

namespace sessiond::bench {

v1::CreateSessionRequest LoadRequest() {
  v1::CreateSessionRequest request;
  for (int i = 0; i < kFields; ++i) {
    (*request.mutable_entries())[FieldKey(i)].set_bytes_value(FieldValue());
  }
  return request;
}

v1::CommitRequest CommitRequest(absl::string_view id, const std::string& key,
                                const std::string& value, uint64_t read_version) {
  v1::CommitRequest request;
  request.set_id(std::string(id));
  v1::Operation::SetOp* set = request.add_ops()->mutable_set();
  set->set_key(key);
  set->mutable_value()->set_bytes_value(value);
  request.set_read_version(read_version);
  return request;
}

}  // namespace sessiond::bench
