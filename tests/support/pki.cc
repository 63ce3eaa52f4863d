#include "tests/support/pki.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace sessiond::testing {
namespace {

// Runs `command` in `directory` with a shell; true if it exited 0.
bool Run(const std::string& directory, const std::string& command) {
  const std::string line = absl::StrCat("cd '", directory, "' && ", command, " >/dev/null 2>&1");
  return std::system(line.c_str()) == 0;
}

}  // namespace

Pki::Pki() {
  std::ofstream(dir_.File("ca.cnf"))
      << "[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\n"
         "default_md=sha256\npolicy=p\ncopy_extensions=copy\nunique_subject=no\n"
         "[p]\ncommonName=supplied\n";
}

void Pki::Ca(const std::string& name) {
  ASSERT_TRUE(Run(dir_.path(), absl::StrCat("openssl req -x509 -newkey ec -pkeyopt "
                                            "ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=",
                                            name, " -keyout ", name, ".key -out ", name, ".pem")));
}

void Pki::Leaf(const std::string& name, const std::string& ca, bool expired,
               const std::string& san) {
  std::ofstream(dir_.File(name + ".ext")) << "subjectAltName=" << san << "\n";
  ASSERT_TRUE(Run(dir_.path(), absl::StrCat("openssl req -new -newkey ec -pkeyopt "
                                            "ec_paramgen_curve:P-256 -nodes -subj /CN=",
                                            name, " -keyout ", name, ".key -out ", name, ".csr")));
  const std::string dates = expired ? "-startdate 20200101000000Z -enddate 20200102000000Z"
                                    : "-startdate 20200101000000Z -days 3650";
  ASSERT_TRUE(Run(dir_.path(),
                  absl::StrCat("rm -f index.txt* serial* && touch index.txt && echo 01 > serial "
                               "&& openssl ca -batch -config ca.cnf -cert ",
                               ca, ".pem -keyfile ", ca, ".key -in ", name, ".csr -out ", name,
                               ".pem -extfile ", name, ".ext ", dates)));
}

}  // namespace sessiond::testing
