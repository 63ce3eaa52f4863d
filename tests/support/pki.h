// Pki: certificates made with openssl in a temporary directory, for TLS and mTLS tests: CAs, and
// leaf certificates they sign (valid for ten years from 2020, or expired in 2020), by default for
// 127.0.0.1 and localhost. Needs the openssl command.
#ifndef SESSIOND_TESTS_SUPPORT_PKI_H_
#define SESSIOND_TESTS_SUPPORT_PKI_H_

#include <string>

#include "tests/support/temp_dir.h"

namespace sessiond::testing {

class Pki {
 public:
  Pki();

  // Makes <name>.pem and <name>.key, a self-signed CA. Fails the test if openssl fails.
  void Ca(const std::string& name);

  // Makes <name>.pem and <name>.key signed by CA `ca`, with the subject alternative names `san`
  // (openssl's syntax); expired ones ended in 2020. Fails the test if openssl fails.
  void Leaf(const std::string& name, const std::string& ca, bool expired = false,
            const std::string& san = "IP:127.0.0.1,DNS:localhost");

  // The path of a file in the directory.
  std::string File(const std::string& name) const { return dir_.File(name); }

 private:
  TempDir dir_;
};

}  // namespace sessiond::testing

#endif  // SESSIOND_TESTS_SUPPORT_PKI_H_
