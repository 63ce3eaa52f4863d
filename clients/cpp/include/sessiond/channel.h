// NewChannel: a gRPC channel to sessiond, plaintext or TLS (with a client certificate for a server
// that requires one, --tls_client_ca_file). Pass it to Client.
#ifndef SESSIOND_CLIENTS_CPP_INCLUDE_SESSIOND_CHANNEL_H_
#define SESSIOND_CLIENTS_CPP_INCLUDE_SESSIOND_CHANNEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"

namespace sessiond {

struct ChannelOptions {
  // TLS: on when ca_file or cert_file is set. ca_file: PEM CAs that sign the server's certificate
  // (empty: the system's roots).
  bool tls = false;
  std::string ca_file;
  // PEM client certificate chain and its key, for mutual TLS (both or neither).
  std::string cert_file;
  std::string key_file;
  // The name the server's certificate must carry, when it differs from the target's host (for
  // example a certificate for "sessiond.prod.svc" reached through 127.0.0.1).
  std::string server_name;
};

// A channel to `target` ("host:port"). INVALID_ARGUMENT naming the option for a file that cannot be
// read, or a certificate without its key. The channel connects lazily: a server that refuses the
// handshake shows as UNAVAILABLE on the first call.
absl::StatusOr<std::shared_ptr<grpc::Channel>> NewChannel(const std::string& target,
                                                          const ChannelOptions& options = {});

}  // namespace sessiond

#endif  // SESSIOND_CLIENTS_CPP_INCLUDE_SESSIOND_CHANNEL_H_
