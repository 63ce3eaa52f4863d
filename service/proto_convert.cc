#include "service/proto_convert.h"

#include <string>

namespace sessiond::service {
namespace {

void ToDuration(absl::Duration duration, google::protobuf::Duration* out) {
  const int64_t millis = absl::ToInt64Milliseconds(duration);
  out->set_seconds(millis / 1000);
  out->set_nanos(static_cast<int32_t>((millis % 1000) * 1'000'000));
}

}  // namespace

void ToTimestamp(absl::Time time, google::protobuf::Timestamp* out) {
  const int64_t millis = absl::ToUnixMillis(time);
  int64_t seconds = millis / 1000;
  int64_t rest = millis % 1000;
  if (rest < 0) {
    --seconds;
    rest += 1000;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rest * 1'000'000));
}

storage::Value FromProto(const v1::Value& value) {
  switch (value.kind_case()) {
    case v1::Value::kStringValue:
      return value.string_value();
    case v1::Value::kBytesValue:
      return storage::Bytes{value.bytes_value()};
    case v1::Value::kInt64Value:
      return value.int64_value();
    case v1::Value::kDoubleValue:
      return value.double_value();
    case v1::Value::kJsonValue:
      return storage::Json{value.json_value()};
    case v1::Value::kBoolValue:
    case v1::Value::KIND_NOT_SET:
      break;
  }
  return value.bool_value();
}

void ToProto(storage::ValueView value, v1::Value* out) {
  switch (value.kind()) {
    case storage::ValueKind::kString:
      out->set_string_value(value.data().data(), value.data().size());
      return;
    case storage::ValueKind::kBytes:
      out->set_bytes_value(value.data().data(), value.data().size());
      return;
    case storage::ValueKind::kInt64:
      out->set_int64_value(value.int64());
      return;
    case storage::ValueKind::kDouble:
      out->set_double_value(value.number());
      return;
    case storage::ValueKind::kBool:
      out->set_bool_value(value.flag());
      return;
    case storage::ValueKind::kJson:
      out->set_json_value(value.data().data(), value.data().size());
      return;
  }
}

void ToProto(const storage::SessionMeta& meta, v1::SessionInfo* out) {
  out->set_id(meta.id);
  out->set_version(meta.version);
  ToTimestamp(meta.created_at, out->mutable_created_at());
  ToTimestamp(meta.idle_expires_at, out->mutable_idle_expires_at());
  ToTimestamp(meta.absolute_expires_at, out->mutable_absolute_expires_at());
  ToDuration(meta.idle_timeout, out->mutable_idle_timeout());
  out->set_principal(meta.principal);
  for (const auto& [key, value] : meta.labels) (*out->mutable_labels())[key] = value;
  ToTimestamp(meta.last_access_at, out->mutable_last_access_at());
}

v1::NotFoundDetails::Reason ToProto(storage::GoneReason reason) {
  // The storage enum mirrors the proto's numbering.
  return static_cast<v1::NotFoundDetails::Reason>(static_cast<int>(reason));
}

void ToProto(const storage::SessionEvent& event, v1::SessionEvent* out) {
  out->set_sequence(event.sequence);
  // The storage enum mirrors the proto's numbering.
  out->set_kind(static_cast<v1::SessionEvent::Kind>(static_cast<int>(event.kind)));
  out->set_id(event.id);
  out->set_new_id(event.new_id);
  out->set_principal(event.principal);
  out->set_version(event.version);
  for (const std::string& key : event.changed_keys) out->add_changed_keys(key);
  out->set_cleared(event.cleared);
  out->set_reason(ToProto(event.reason));
  ToTimestamp(event.at, out->mutable_at());
}

}  // namespace sessiond::service
