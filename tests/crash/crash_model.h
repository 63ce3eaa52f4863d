// The crash test's model, after RocksDB's db_crashtest: client threads create, commit to and
// delete sessions on a sessiond and record every acknowledged operation in a model; the server is
// killed with SIGKILL at random moments and started again on the same store, and what it then
// holds is checked against the model: no acknowledged write lost, no acknowledged remove or delete
// undone. An operation whose answer never came may have happened or not. Used by each durable
// backend's crash test (crash_test.cc for RocksDB, postgres_crash_test.cc).
#ifndef SESSIOND_TESTS_CRASH_CRASH_MODEL_H_
#define SESSIOND_TESTS_CRASH_CRASH_MODEL_H_

#include <functional>
#include <string>
#include <vector>

namespace sessiond {

// The number of kill/restart cycles: SESSIOND_CRASH_CYCLES, default 20.
int CrashCycles();

// Runs `cycles` kill -9 cycles of sessiond started with `flags(cycle)` (the store's flags) and
// checks the store against the model after each, with gtest assertions.
void KillNineCycles(int cycles, const std::function<std::vector<std::string>(int cycle)>& flags);

}  // namespace sessiond

#endif  // SESSIOND_TESTS_CRASH_CRASH_MODEL_H_
