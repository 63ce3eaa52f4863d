// Conversions between the API's messages and the storage layer's types, in one place.
#ifndef SESSIOND_SERVICE_PROTO_CONVERT_H_
#define SESSIOND_SERVICE_PROTO_CONVERT_H_

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "sessiond/v1/session.pb.h"
#include "storage/session.h"
#include "storage/session_event.h"
#include "storage/value.h"

namespace sessiond::service {

// The storage form of `value`, whose kind must be set (see ValidateValue).
storage::Value FromProto(const v1::Value& value);

// Writes `value` into `out`.
void ToProto(storage::ValueView value, v1::Value* out);

// Writes `meta` into `out` (times with millisecond precision).
void ToProto(const storage::SessionMeta& meta, v1::SessionInfo* out);

// Writes `event` into `out` (times with millisecond precision).
void ToProto(const storage::SessionEvent& event, v1::SessionEvent* out);

// The API's form of a gone reason.
v1::NotFoundDetails::Reason ToProto(storage::GoneReason reason);

// Writes `time` into `out`, truncated to the millisecond.
void ToTimestamp(absl::Time time, google::protobuf::Timestamp* out);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_PROTO_CONVERT_H_
