// GrpcTarget: sessiond, or the echo server, driven over gRPC's asynchronous completion-queue API.
//
// Every rpc goes through the generic stub with requests serialized here, so one code path serves
// every method. Slot i uses channel i % channels; each channel is its own TCP connection. Sessions
// come from a SessionPool: kLoad adds the sessions it creates, get/commit/web/web-read-mostly/touch
// pick one uniformly at random, commit sends the last version seen as read_version. Each rpc has a
// 10 s deadline. Not thread-safe (see Target).
#ifndef SESSIOND_BENCH_LOADGEN_GRPC_TARGET_H_
#define SESSIOND_BENCH_LOADGEN_GRPC_TARGET_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/loadgen/session_pool.h"
#include "bench/loadgen/target.h"
#include "google/protobuf/message.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"

namespace sessiond::bench {

class GrpcTarget final : public Target {
 public:
  struct Options {
    // host:port of sessiond, or of the echo server for Op::kEcho.
    std::string address;
    int channels = 1;
    int slots = 1;
    // Payload of each echo request.
    size_t echo_bytes = 0;
    absl::Duration connect_timeout = absl::Seconds(10);
  };

  // Opens the channels and waits until each is connected: UNAVAILABLE if one is not within
  // `connect_timeout`. `pool` is not owned and must outlive the target.
  static absl::StatusOr<std::unique_ptr<GrpcTarget>> Connect(const Options& options,
                                                             SessionPool* pool);
  // Every operation must have completed (Poll reported it).
  ~GrpcTarget() override;

  void Start(int slot, Op op) override;
  void Poll(std::chrono::nanoseconds timeout, Completion done) override;
  void CancelAll() override;

 private:
  struct Slot {
    Op op = Op::kGet;
    // Which rpc of a two-rpc operation (web, web-read-mostly, churn) is running: 0 or 1.
    int step = 0;
    size_t session = 0;
    // web, web-read-mostly: whether the operation commits after its Get.
    bool writes = false;
    bool busy = false;
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
    grpc::ByteBuffer response;
    grpc::Status status;
  };
  enum class Next { kSent, kDone, kBadReply };

  GrpcTarget(const Options& options, SessionPool* pool);

  void Call(int slot, const std::string& method, const grpc::ByteBuffer& request);
  void Call(int slot, const std::string& method, const google::protobuf::Message& request);
  // After `slot`'s rpc succeeded: sends the operation's next rpc, or reports it complete.
  Next Advance(int slot);

  SessionPool* const pool_;
  const std::string get_method_, commit_method_, touch_method_, create_method_, delete_method_,
      echo_method_;
  // Requests that never change, serialized once.
  grpc::ByteBuffer create_request_, echo_request_;
  grpc::CompletionQueue queue_;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs_;
  std::vector<Slot> slots_;
};

}  // namespace sessiond::bench

#endif  // SESSIOND_BENCH_LOADGEN_GRPC_TARGET_H_
