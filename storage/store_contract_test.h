// The Store contract suite: one parameterised GoogleTest suite that every backend must pass.
//
// A backend's test instantiates it with a factory:
//
//   INSTANTIATE_TEST_SUITE_P(Memory, StoreContractTest,
//                            ::testing::Values(StoreFactory{"memory", &MakeMemoryStore}));
//
// The factory gets the fake clock to use and the limits to enforce, and returns a new empty store.
#ifndef SESSIOND_STORAGE_STORE_CONTRACT_TEST_H_
#define SESSIOND_STORAGE_STORE_CONTRACT_TEST_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "storage/clock.h"
#include "storage/session.h"
#include "storage/session_event.h"
#include "storage/store.h"
#include "storage/testing/fake_clock.h"

namespace sessiond::storage {

struct StoreFactory {
  std::string name;
  std::function<absl::StatusOr<std::unique_ptr<Store>>(Clock* clock, const SessionLimits& limits)>
      make;
};

// The events of `store`'s log from `from` on, once there are at least `count` of them (or whatever
// there is after 10 s: a networked backend delivers them from its engine a little after the call
// returns).
std::vector<SessionEvent> AwaitEvents(Store& store, uint64_t from, size_t count);

// GoogleTest prints a factory as its name (not its bytes) in test listings and failures.
inline void PrintTo(const StoreFactory& factory, std::ostream* out) { *out << factory.name; }

// The fixture: a fresh store per test over a FakeClock, with small limits so tests can reach them.
class StoreContractTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  static constexpr SessionLimits kLimits{/*max_keys=*/16, /*max_session_bytes=*/1024};

  void SetUp() override;

  FakeClock clock_;
  std::unique_ptr<Store> store_;
};

}  // namespace sessiond::storage

#endif  // SESSIOND_STORAGE_STORE_CONTRACT_TEST_H_
