#include "tests/support/invalidation_stream.h"

#include <chrono>
#include <cstdlib>

#include "tests/support/command.h"

namespace sessiond::testing {

InvalidationStream::InvalidationStream(const std::shared_ptr<grpc::Channel>& channel,
                                       const std::string& bearer_token)
    : stub_(v1::SessionService::NewStub(channel)) {
  context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  if (!bearer_token.empty()) context_.AddMetadata("authorization", "Bearer " + bearer_token);
  rpc_ = stub_->WatchInvalidations(&context_);
}

InvalidationStream::~InvalidationStream() { context_.TryCancel(); }

bool InvalidationStream::Ping(uint64_t ping) {
  v1::LeaseRequest request;
  request.set_ping(ping);
  return rpc_->Write(request);
}

grpc::Status InvalidationStream::PingAndRead(uint64_t ping, Granted* granted) {
  Ping(ping);
  v1::InvalidationsResponse response;
  while (rpc_->Read(&response)) {
    if (response.invalidations_size() > 0) ++granted->invalidation_messages;
    for (const v1::Invalidation& invalidation : response.invalidations()) {
      granted->invalidations.push_back(invalidation);
    }
    if (response.granted_ping() != 0) {
      granted->grant = response;
      return grpc::Status::OK;
    }
  }
  return Finish();
}

grpc::Status InvalidationStream::Finish() {
  v1::InvalidationsResponse ignored;
  while (rpc_->Read(&ignored)) {
  }
  return rpc_->Finish();
}

uint64_t IdHashOf(const std::string& id) {
  // Computed by sha256sum, independently of the server's code: its first 16 hex digits.
  const CommandResult digest = RunCommand("printf %s '" + id + "' | sha256sum");
  return std::strtoull(digest.output.substr(0, 16).c_str(), nullptr, 16);
}

}  // namespace sessiond::testing
