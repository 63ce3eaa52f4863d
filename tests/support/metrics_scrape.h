// Reading sessiond's Prometheus metrics in a test: a free loopback port for --metrics_listen, a
// scrape of /metrics over plain HTTP, and the samples of a scrape.
#ifndef SESSIOND_TESTS_SUPPORT_METRICS_SCRAPE_H_
#define SESSIOND_TESTS_SUPPORT_METRICS_SCRAPE_H_

#include <map>
#include <string>

namespace sessiond::testing {

// A loopback port the kernel has just handed out and released, for --metrics_listen; 0 if none.
int FreePort();

// A connection to 127.0.0.1:port whose reads time out after 5 s: the fd, or -1.
int ConnectTo(int port);

// GET /metrics on 127.0.0.1:port; the body, or "" if the server did not answer.
std::string Scrape(int port);

// The samples of a scrape: "name{labels}" as printed -> value.
std::map<std::string, double> Samples(const std::string& text);

}  // namespace sessiond::testing

#endif  // SESSIOND_TESTS_SUPPORT_METRICS_SCRAPE_H_
