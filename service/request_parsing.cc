#include "service/request_parsing.h"

#include <cstdint>
#include <iostream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "service/request_validation.h"

namespace sessiond::service {
namespace {

// True if `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<uint8_t>(text[i]);
    size_t length;
    uint32_t min;
    uint32_t code;
    if (byte < 0x80) {
      ++i;
      continue;
    } else if ((byte & 0xE0) == 0xC0) {
      length = 2, min = 0x80, code = byte & 0x1F;
    } else if ((byte & 0xF0) == 0xE0) {
      length = 3, min = 0x800, code = byte & 0x0F;
    } else if ((byte & 0xF8) == 0xF0) {
      length = 4, min = 0x10000, code = byte & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<uint8_t>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

void LogExceptUtf8ParseErrors(google::protobuf::LogLevel level, const char* filename, int line,
                              const std::string& message) {
  if (message.find("contains invalid UTF-8 data when parsing") != std::string::npos) return;
  std::cerr << "[libprotobuf " << level << " " << filename << ":" << line << "] " << message
            << std::endl;
}

}  // namespace

void QuietenUtf8ParseErrors() { google::protobuf::SetLogHandler(&LogExceptUtf8ParseErrors); }

std::string FindInvalidUtf8Field(const google::protobuf::Descriptor& descriptor,
                                 absl::string_view wire) {
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromArray(wire.data(), static_cast<int>(wire.size()))) return "";
  absl::flat_hash_map<int, int> occurrences;  // field number -> elements seen, for indices
  for (int i = 0; i < fields.field_count(); ++i) {
    const google::protobuf::UnknownField& field = fields.field(i);
    if (field.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) continue;
    const google::protobuf::FieldDescriptor* known = descriptor.FindFieldByNumber(field.number());
    if (known == nullptr) continue;
    const int index = occurrences[field.number()]++;
    const absl::string_view bytes = field.length_delimited();
    if (known->is_map()) {
      // A map entry is a message {1: key, 2: value}; name it as the caller does, by its key.
      google::protobuf::UnknownFieldSet entry;
      if (!entry.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) continue;
      std::string key;
      for (int k = 0; k < entry.field_count(); ++k) {
        if (entry.field(k).number() == 1 &&
            entry.field(k).type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
          key = entry.field(k).length_delimited();
        }
      }
      const std::string named = KeyField(known->name(), key);
      if (!IsValidUtf8(key)) return named;
      const google::protobuf::FieldDescriptor* value = known->message_type()->map_value();
      for (int k = 0; k < entry.field_count(); ++k) {
        if (entry.field(k).number() != 2 ||
            entry.field(k).type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
          continue;
        }
        if (value->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE) {
          std::string nested =
              FindInvalidUtf8Field(*value->message_type(), entry.field(k).length_delimited());
          if (!nested.empty()) return absl::StrCat(named, ".", nested);
        } else if (value->type() == google::protobuf::FieldDescriptor::TYPE_STRING &&
                   !IsValidUtf8(entry.field(k).length_delimited())) {
          return named;
        }
      }
      continue;
    }
    const std::string named =
        known->is_repeated() ? absl::StrCat(known->name(), "[", index, "]") : known->name();
    if (known->type() == google::protobuf::FieldDescriptor::TYPE_STRING && !IsValidUtf8(bytes)) {
      return named;
    }
    if (known->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE) {
      std::string nested = FindInvalidUtf8Field(*known->message_type(), bytes);
      if (!nested.empty()) return absl::StrCat(named, ".", nested);
    }
  }
  return "";
}

absl::Status ParseRequest(const grpc::ByteBuffer& raw, google::protobuf::Message* message) {
  grpc::ByteBuffer copy(raw);  // shares the slices; the reader consumes its own view
  grpc::ProtoBufferReader reader(&copy);
  if (message->ParseFromZeroCopyStream(&reader)) return absl::OkStatus();

  const google::protobuf::Descriptor& descriptor = *message->GetDescriptor();
  std::vector<grpc::Slice> slices;
  std::string wire;
  if (raw.Dump(&slices).ok()) {
    for (const grpc::Slice& slice : slices) {
      wire.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
  }
  const std::string field = FindInvalidUtf8Field(descriptor, wire);
  if (!field.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": not valid UTF-8; keys and string values must be UTF-8"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("the request is not a valid ", descriptor.full_name(), " message"));
}

void SerializeResponse(const google::protobuf::Message& message, grpc::ByteBuffer* raw) {
  bool own_buffer = false;
  grpc::SerializationTraits<google::protobuf::Message>::Serialize(message, raw, &own_buffer);
}

}  // namespace sessiond::service
