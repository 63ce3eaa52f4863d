// libFuzzer target: request parsing and validation, as the service does them for every rpc. The
// first byte picks the request type; the rest is its wire bytes as a client sent them. ParseRequest
// must accept the bytes or answer INVALID_ARGUMENT (naming the field when a string is not UTF-8);
// the validators must then never crash on whatever parsed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "service/limits.h"
#include "service/request_parsing.h"
#include "service/request_validation.h"
#include "service/session_id.h"
#include "sessiond/v1/session.pb.h"

namespace {

namespace v1 = sessiond::v1;
using sessiond::service::ServiceLimits;

void ValidateEntries(const google::protobuf::Map<std::string, v1::Value>& entries,
                     const ServiceLimits& limits) {
  for (const auto& entry : entries) {
    const auto name = [&] { return sessiond::service::KeyField("entries", entry.first); };
    (void)sessiond::service::ValidateKey(entry.first, name, limits);
    (void)sessiond::service::ValidateValue(entry.second, name, limits);
  }
}

void ValidateKeys(const google::protobuf::RepeatedPtrField<std::string>& keys,
                  const ServiceLimits& limits) {
  (void)sessiond::service::ValidateRequestKeyCount(keys.size(), "keys", limits);
  for (const std::string& key : keys) {
    (void)sessiond::service::ValidateKey(
        key, [] { return std::string("keys[i]"); }, limits);
  }
}

// Validates `message` as its handler would before calling the store.
void Validate(const google::protobuf::Message& message, const ServiceLimits& limits) {
  const google::protobuf::Descriptor* descriptor = message.GetDescriptor();
  const google::protobuf::FieldDescriptor* id = descriptor->FindFieldByName("id");
  if (id != nullptr) {
    (void)sessiond::service::ValidateSessionId(message.GetReflection()->GetString(message, id),
                                               "id");
  }
  const google::protobuf::FieldDescriptor* request_id = descriptor->FindFieldByName("request_id");
  if (request_id != nullptr) {
    (void)sessiond::service::ValidateRequestId(
        message.GetReflection()->GetString(message, request_id));
  }
  if (const auto* create = dynamic_cast<const v1::CreateSessionRequest*>(&message)) {
    ValidateEntries(create->entries(), limits);
    (void)sessiond::service::ValidatePrincipal(create->principal(), limits);
    (void)sessiond::service::ResolveTimeout(
        create->has_idle_timeout() ? &create->idle_timeout() : nullptr,
        sessiond::service::TimeoutKind::kIdle, limits);
    (void)sessiond::service::ResolveTimeout(
        create->has_absolute_timeout() ? &create->absolute_timeout() : nullptr,
        sessiond::service::TimeoutKind::kAbsolute, limits);
  } else if (const auto* set = dynamic_cast<const v1::SetRequest*>(&message)) {
    ValidateEntries(set->entries(), limits);
  } else if (const auto* get = dynamic_cast<const v1::GetRequest*>(&message)) {
    ValidateKeys(get->keys(), limits);
  } else if (const auto* remove = dynamic_cast<const v1::RemoveRequest*>(&message)) {
    ValidateKeys(remove->keys(), limits);
  } else if (const auto* commit = dynamic_cast<const v1::CommitRequest*>(&message)) {
    (void)sessiond::service::ValidateRequestKeyCount(commit->ops_size(), "ops", limits);
    for (const v1::Operation& op : commit->ops()) {
      const auto name = [] { return std::string("ops[i]"); };
      if (op.has_set()) {
        (void)sessiond::service::ValidateKey(op.set().key(), name, limits);
        (void)sessiond::service::ValidateValue(op.set().value(), name, limits);
      } else if (op.has_remove()) {
        (void)sessiond::service::ValidateKey(op.remove().key(), name, limits);
      }
    }
  }
}

std::unique_ptr<google::protobuf::Message> NewRequest(uint8_t selector) {
  switch (selector % 9) {
    case 0:
      return std::make_unique<v1::CreateSessionRequest>();
    case 1:
      return std::make_unique<v1::GetRequest>();
    case 2:
      return std::make_unique<v1::SetRequest>();
    case 3:
      return std::make_unique<v1::RemoveRequest>();
    case 4:
      return std::make_unique<v1::ClearRequest>();
    case 5:
      return std::make_unique<v1::TouchRequest>();
    case 6:
      return std::make_unique<v1::DeleteRequest>();
    case 7:
      return std::make_unique<v1::CommitRequest>();
    default:
      return std::make_unique<v1::RotateIdRequest>();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  sessiond::service::QuietenUtf8ParseErrors();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const ServiceLimits limits;
  std::unique_ptr<google::protobuf::Message> request = NewRequest(data[0]);
  grpc::Slice slice(data + 1, size - 1);
  grpc::ByteBuffer raw(&slice, 1);
  const absl::Status status = sessiond::service::ParseRequest(raw, request.get());
  if (!status.ok()) {
    if (status.code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  Validate(*request, limits);
  return 0;
}
