#include "bench/loadgen/grpc_target.h"

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "bench/echo/echo.grpc.pb.h"
#include "bench/loadgen/session_requests.h"
#include "grpc/support/time.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "sessiond/v1/session.grpc.pb.h"

namespace sessiond::bench {
namespace {

constexpr auto kRpcTimeout = std::chrono::seconds(10);

std::string SessionMethod(absl::string_view name) {
  return absl::StrCat("/", v1::SessionService::service_full_name(), "/", name);
}

grpc::ByteBuffer Serialize(const google::protobuf::Message& message) {
  grpc::ByteBuffer buffer;
  bool own_buffer = false;
  grpc::SerializationTraits<google::protobuf::Message>::Serialize(message, &buffer, &own_buffer);
  return buffer;
}

grpc::ByteBuffer EchoRequest(size_t bytes) {
  EchoMessage request;
  request.set_payload(std::string(bytes, 'e'));
  return Serialize(request);
}

void* Tag(int slot) { return reinterpret_cast<void*>(static_cast<intptr_t>(slot)); }

}  // namespace

GrpcTarget::GrpcTarget(const Options& options, SessionPool* pool)
    : pool_(pool),
      get_method_(SessionMethod("Get")),
      commit_method_(SessionMethod("Commit")),
      touch_method_(SessionMethod("Touch")),
      create_method_(SessionMethod("CreateSession")),
      delete_method_(SessionMethod("Delete")),
      echo_method_(absl::StrCat("/", EchoService::service_full_name(), "/Echo")),
      create_request_(Serialize(LoadRequest())),
      echo_request_(EchoRequest(options.echo_bytes)),
      slots_(options.slots) {}

absl::StatusOr<std::unique_ptr<GrpcTarget>> GrpcTarget::Connect(const Options& options,
                                                                SessionPool* pool) {
  std::unique_ptr<GrpcTarget> target(new GrpcTarget(options, pool));
  const auto deadline = absl::ToChronoTime(absl::Now() + options.connect_timeout);
  for (int i = 0; i < options.channels; ++i) {
    grpc::ChannelArguments arguments;
    // Without this, channels to one address share one subchannel, hence one TCP connection.
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateCustomChannel(options.address, grpc::InsecureChannelCredentials(), arguments);
    if (!channel->WaitForConnected(deadline)) {
      return absl::UnavailableError(absl::StrCat("cannot connect to ", options.address));
    }
    target->stubs_.push_back(std::make_unique<grpc::GenericStub>(channel));
  }
  return target;
}

GrpcTarget::~GrpcTarget() {
  queue_.Shutdown();
  void* tag;
  bool ok;
  while (queue_.Next(&tag, &ok)) {
  }
}

void GrpcTarget::Call(int slot, const std::string& method, const grpc::ByteBuffer& request) {
  Slot& call = slots_[slot];
  call.context = std::make_unique<grpc::ClientContext>();
  call.context->set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
  call.reader =
      stubs_[slot % stubs_.size()]->PrepareUnaryCall(call.context.get(), method, request, &queue_);
  call.reader->StartCall();
  call.reader->Finish(&call.response, &call.status, Tag(slot));
}

void GrpcTarget::Call(int slot, const std::string& method,
                      const google::protobuf::Message& request) {
  Call(slot, method, Serialize(request));
}

void GrpcTarget::Start(int slot, Op op) {
  Slot& call = slots_[slot];
  call.op = op;
  call.step = 0;
  call.busy = true;
  if (UsesLoadedSessions(op)) {
    call.session = pool_->Pick();
    call.writes = pool_->Chance(WriteShare(op));
  }
  switch (op) {
    case Op::kLoad:
    case Op::kChurn:
      Call(slot, create_method_, create_request_);
      return;
    case Op::kGet:
    case Op::kWeb:
    case Op::kWebReadMostly: {
      v1::GetRequest request;
      request.set_id(std::string(pool_->id(call.session)));
      Call(slot, get_method_, request);
      return;
    }
    case Op::kCommit:
      Call(slot, commit_method_,
           CommitRequest(pool_->id(call.session), "blob", CommitValue(),
                         pool_->version(call.session)));
      return;
    case Op::kTouch: {
      v1::TouchRequest request;
      request.set_id(std::string(pool_->id(call.session)));
      Call(slot, touch_method_, request);
      return;
    }
    case Op::kEcho:
      Call(slot, echo_method_, echo_request_);
      return;
  }
}

GrpcTarget::Next GrpcTarget::Advance(int slot) {
  Slot& call = slots_[slot];
  const auto parse = [&call](google::protobuf::Message* reply) {
    return grpc::SerializationTraits<google::protobuf::Message>::Deserialize(&call.response, reply)
        .ok();
  };
  switch (call.op) {
    case Op::kLoad: {
      v1::CreateSessionResponse reply;
      if (!parse(&reply) || !pool_->Add(reply.session().id()).ok()) return Next::kBadReply;
      return Next::kDone;
    }
    case Op::kChurn: {
      if (call.step == 1) return Next::kDone;
      v1::CreateSessionResponse reply;
      if (!parse(&reply)) return Next::kBadReply;
      v1::DeleteRequest request;
      request.set_id(reply.session().id());
      call.step = 1;
      Call(slot, delete_method_, request);
      return Next::kSent;
    }
    case Op::kWeb:
    case Op::kWebReadMostly: {
      if (call.step == 1) return Next::kDone;
      v1::GetResponse reply;
      if (!parse(&reply) || reply.entries_size() < kFields) return Next::kBadReply;
      if (!call.writes) return Next::kDone;
      call.step = 1;
      Call(slot, commit_method_,
           CommitRequest(reply.session().id(), FieldKey(0), FieldValue(),
                         reply.session().version()));
      return Next::kSent;
    }
    case Op::kCommit: {
      v1::CommitResponse reply;
      if (!parse(&reply)) return Next::kBadReply;
      pool_->SawVersion(call.session, reply.session().version());
      return Next::kDone;
    }
    case Op::kGet:
    case Op::kTouch:
    case Op::kEcho:
      return Next::kDone;
  }
  return Next::kDone;
}

void GrpcTarget::Poll(std::chrono::nanoseconds timeout, Completion done) {
  void* tag;
  bool ok;
  // gRPC rounds a deadline up to the next millisecond. Asking for 1 ms less never oversleeps
  // (an open loop would send late); under 1 ms, poll.
  const std::chrono::nanoseconds wait = timeout - std::chrono::milliseconds(1);
  const gpr_timespec deadline = wait.count() <= 0
                                    ? gpr_inf_past(GPR_CLOCK_MONOTONIC)
                                    : gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                                   gpr_time_from_nanos(wait.count(), GPR_TIMESPAN));
  if (queue_.AsyncNext(&tag, &ok, deadline) != grpc::CompletionQueue::GOT_EVENT) return;
  const int slot = static_cast<int>(reinterpret_cast<intptr_t>(tag));
  Slot& call = slots_[slot];
  std::string error;
  if (!call.status.ok()) {
    // gRPC's codes are the canonical codes Abseil names.
    error = absl::StatusCodeToString(static_cast<absl::StatusCode>(call.status.error_code()));
  } else {
    switch (Advance(slot)) {
      case Next::kSent:
        return;
      case Next::kBadReply:
        error = "BAD_REPLY";
        break;
      case Next::kDone:
        break;
    }
  }
  call.busy = false;
  done(slot, error);
}

void GrpcTarget::CancelAll() {
  for (Slot& call : slots_) {
    if (call.busy) call.context->TryCancel();
  }
}

}  // namespace sessiond::bench
