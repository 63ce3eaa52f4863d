// Parsing requests ourselves, so that a request protobuf refuses gets a useful answer.
//
// With generated handlers, gRPC answers a request that fails to parse with UNIMPLEMENTED and no
// message; the usual cause is a string field (a key) holding invalid UTF-8. The service registers
// raw handlers instead and parses here: a bad request gets INVALID_ARGUMENT naming the field.
#ifndef SESSIOND_SERVICE_REQUEST_PARSING_H_
#define SESSIOND_SERVICE_REQUEST_PARSING_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"

namespace sessiond::service {

// Parses `raw` into `message`. INVALID_ARGUMENT if it is not a valid encoding of the message,
// naming the first string field with invalid UTF-8 (FindInvalidUtf8Field) when that is why.
absl::Status ParseRequest(const grpc::ByteBuffer& raw, google::protobuf::Message* message);

// Stops protobuf from logging an error for every request with invalid UTF-8 (ParseRequest answers
// those); other protobuf log lines still reach stderr. Process-wide; call once at start-up.
void QuietenUtf8ParseErrors();

// Serializes `message` into `raw`.
void SerializeResponse(const google::protobuf::Message& message, grpc::ByteBuffer* raw);

// The first string field (depth first) in the wire bytes `wire` of a `descriptor` message whose
// value is not valid UTF-8, named as the caller wrote it (`keys[2]`, `entries["k"]`,
// `entries["k"].string_value`, `ops[0].set.key`), or "" if there is none.
std::string FindInvalidUtf8Field(const google::protobuf::Descriptor& descriptor,
                                 absl::string_view wire);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_REQUEST_PARSING_H_
