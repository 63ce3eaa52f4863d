// InvalidationStream: a raw WatchInvalidations stream for tests of the server's side of the near
// cache (what it sends, when it grants a lease), without a client's cache in between.
#ifndef SESSIOND_TESTS_SUPPORT_INVALIDATION_STREAM_H_
#define SESSIOND_TESTS_SUPPORT_INVALIDATION_STREAM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "sessiond/v1/session.grpc.pb.h"

namespace sessiond::testing {

class InvalidationStream {
 public:
  // Opens a stream on `channel` that ends after 60 s at most, with `authorization: Bearer <token>`
  // if a token is given.
  explicit InvalidationStream(const std::shared_ptr<grpc::Channel>& channel,
                              const std::string& bearer_token = "");
  // Cancels the stream.
  ~InvalidationStream();

  // What came before a grant, and the grant.
  struct Granted {
    std::vector<v1::Invalidation> invalidations;
    // How many messages those invalidations came in.
    int invalidation_messages = 0;
    v1::InvalidationsResponse grant;
  };

  // Sends LeaseRequest{ping} and reads until a message grants a ping (every invalidation read on
  // the way is returned); a non-OK status if the stream ended first.
  grpc::Status PingAndRead(uint64_t ping, Granted* granted);

  // Sends LeaseRequest{ping} without reading.
  bool Ping(uint64_t ping);

  // Reads until the stream ends; its status.
  grpc::Status Finish();

 private:
  grpc::ClientContext context_;
  std::unique_ptr<v1::SessionService::Stub> stub_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::LeaseRequest, v1::InvalidationsResponse>> rpc_;
};

// The Invalidation.id_hash of `id`: the first 8 bytes of its SHA-256, big-endian.
uint64_t IdHashOf(const std::string& id);

}  // namespace sessiond::testing

#endif  // SESSIOND_TESTS_SUPPORT_INVALIDATION_STREAM_H_
