// near_cache_child: a process holding a Client with a near cache, for the test that SIGSTOPs one.
// Usage: near_cache_child <address>. Prints "leased" once its invalidation stream holds a lease
// (or "no lease" after 10 s), then answers commands read from stdin, one per line:
//   fill <id>  Gets the session until a Get is answered from the cache (at most 5 s); prints
//              "cached", or "not cached <code>".
//   get <id>   one Get; prints "<code> hit" or "<code> miss" (the code's name, e.g. NOT_FOUND).
// Every answer is one line, flushed; exits 0 at the end of stdin.
#include <cstdio>
#include <iostream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "sessiond/client.h"

namespace {

void Say(const std::string& line) {
  std::cout << line << std::endl;  // flushes
}

// One Get of `id`: its code, and whether the cache answered it.
std::pair<absl::StatusCode, bool> GetOnce(const sessiond::Client& client, const std::string& id) {
  sessiond::v1::GetRequest request;
  request.set_id(id);
  const uint64_t hits = client.near_cache_stats().hits;
  const absl::StatusCode code = client.Get(request).status().code();
  return {code, client.near_cache_stats().hits > hits};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <address>\n", argv[0]);
    return 2;
  }
  sessiond::ClientOptions options;
  options.near_cache_max_bytes = 1 << 20;
  const sessiond::Client client(grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials()),
                                options);
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!client.near_cache_stats().leased && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  Say(client.near_cache_stats().leased ? "leased" : "no lease");

  std::string command, id;
  while (std::cin >> command >> id) {
    if (command == "fill") {
      const absl::Time until = absl::Now() + absl::Seconds(5);
      std::pair<absl::StatusCode, bool> got = GetOnce(client, id);
      while (!got.second && got.first == absl::StatusCode::kOk && absl::Now() < until) {
        absl::SleepFor(absl::Milliseconds(5));
        got = GetOnce(client, id);
      }
      Say(got.second ? "cached" : absl::StrCat("not cached ", absl::StatusCodeToString(got.first)));
    } else if (command == "get") {
      const std::pair<absl::StatusCode, bool> got = GetOnce(client, id);
      Say(absl::StrCat(absl::StatusCodeToString(got.first), got.second ? " hit" : " miss"));
    } else {
      Say("unknown command");
    }
  }
  return 0;
}
