// The server's transport credentials: TLS (and mutual TLS) from certificate files that are
// re-read while the server runs, or plaintext when no certificate is given.
#ifndef SESSIOND_SERVICE_TLS_CREDENTIALS_H_
#define SESSIOND_SERVICE_TLS_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/server_credentials.h"

namespace sessiond::service {

struct TlsOptions {
  // PEM files: the server's certificate chain and its private key (both or neither), and the CAs
  // whose client certificates are accepted (set: every client must present one they signed).
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  // How often the files are checked for new contents (Kubernetes replaces a mounted secret in
  // place). New handshakes use the new certificates; established connections are kept.
  absl::Duration reload_interval = absl::Seconds(10);

  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

// The credentials `tls` describes: gRPC's TLS credentials watching the files (FileWatcher
// certificate provider), or insecure ones when TLS is not enabled. INVALID_ARGUMENT, naming the
// flag, for a certificate without its key (or the reverse), a client CA without a certificate, a
// file that cannot be read, or a reload interval under one second.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const TlsOptions& tls);

}  // namespace sessiond::service

#endif  // SESSIOND_SERVICE_TLS_CREDENTIALS_H_
