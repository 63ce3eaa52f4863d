// The RocksDB backend through the real binary: a clean restart keeps everything, and a full disk
// fails writes with a clear code while reads go on, until space comes back.
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "sessiond/client.h"
#include "tests/support/sessiond_process.h"
#include "tests/support/status_matchers.h"

namespace sessiond {
namespace {

using ::sessiond::testing::IsOk;
using ::sessiond::testing::SessiondProcess;
using ::sessiond::testing::StatusIs;

std::string TempPath(absl::string_view name) {
  return (std::filesystem::temp_directory_path() / absl::StrCat(name, "-", getpid())).string();
}

absl::StatusOr<std::unique_ptr<SessiondProcess>> StartRocksDb(const std::string& data_dir) {
  return SessiondProcess::Start({"--store=rocksdb", absl::StrCat("--data_dir=", data_dir),
                                 "--drain_grace=0s", "--min_free_disk_bytes=16777216"});
}

v1::GetResponse Peek(Client& client, const std::string& id) {
  v1::GetRequest get;
  get.set_id(id);
  get.set_no_renew(true);
  absl::StatusOr<v1::GetResponse> got = client.Get(get);
  EXPECT_OK(got);
  return got.ok() ? *got : v1::GetResponse();
}

TEST(RocksDbE2eTest, ACleanRestartKeepsSessionsVersionsAndExpiryTimes) {
  const std::string data_dir = TempPath("sessiond-restart");
  std::vector<v1::GetResponse> before;
  {
    absl::StatusOr<std::unique_ptr<SessiondProcess>> server = StartRocksDb(data_dir);
    ASSERT_OK(server);
    // The client goes before the SIGTERM: gRPC polls an idle client connection only every few
    // seconds, and a graceful shutdown waits for the client to acknowledge it.
    auto client = std::make_unique<Client>((*server)->NewChannel());
    for (int i = 0; i < 20; ++i) {
      v1::CreateSessionRequest create;
      create.set_principal(absl::StrCat("user-", i));
      (*create.mutable_entries())["n"].set_int64_value(i);
      ASSERT_OK_AND_ASSIGN(v1::CreateSessionResponse created, client->CreateSession(create));
      v1::SetRequest set;
      set.set_id(created.session().id());
      (*set.mutable_entries())["name"].set_string_value(absl::StrCat("session ", i));
      for (int version = 0; version < i % 3; ++version) ASSERT_OK(client->Set(set));
      before.push_back(Peek(*client, created.session().id()));
    }
    client.reset();
    (*server)->Signal(SIGTERM);
    ASSERT_EQ((*server)->Wait(), 0);
  }
  absl::StatusOr<std::unique_ptr<SessiondProcess>> restarted = StartRocksDb(data_dir);
  ASSERT_OK(restarted);
  Client client((*restarted)->NewChannel());
  for (const v1::GetResponse& expected : before) {
    const v1::GetResponse after = Peek(client, expected.session().id());
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(after, expected))
        << "before: " << expected.ShortDebugString() << "\nafter: " << after.ShortDebugString();
  }
  std::filesystem::remove_all(data_dir);
}

// A size-limited tmpfs the test mounts (and unmounts) itself; needs root.
class SmallFilesystem {
 public:
  explicit SmallFilesystem(size_t bytes) : path_(TempPath("sessiond-small-fs")) {
    std::filesystem::create_directories(path_);
    mounted_ = mount("tmpfs", path_.c_str(), "tmpfs", 0, absl::StrCat("size=", bytes).c_str()) == 0;
  }
  ~SmallFilesystem() {
    if (mounted_) umount2(path_.c_str(), MNT_DETACH);
    std::filesystem::remove_all(path_);
  }
  bool mounted() const { return mounted_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

TEST(RocksDbE2eTest, AFullDiskFailsWritesClearlyKeepsReadsAndRecoversByItself) {
  SmallFilesystem disk(64 << 20);
  if (!disk.mounted()) GTEST_SKIP() << "mounting a tmpfs needs root (CI runs as root)";
  // Ballast, larger than the 16 MiB reserve, that the test deletes later to give the store room.
  const std::string ballast = disk.path() + "/ballast";
  {
    std::ofstream out(ballast, std::ios::binary);
    const std::string megabyte(1 << 20, 'b');
    for (int i = 0; i < 24; ++i) out << megabyte;
    ASSERT_TRUE(out.flush());
  }
  absl::StatusOr<std::unique_ptr<SessiondProcess>> server = StartRocksDb(disk.path() + "/db");
  ASSERT_OK(server);
  Client client((*server)->NewChannel());
  v1::CreateSessionRequest create;
  (*create.mutable_entries())["small"].set_string_value("kept");
  ASSERT_OK_AND_ASSIGN(v1::CreateSessionResponse kept, client.CreateSession(create));

  // Fill the disk with 200 KB sessions until a write is refused.
  v1::CreateSessionRequest big;
  (*big.mutable_entries())["blob"].set_bytes_value(std::string(200'000, 'x'));
  absl::Status refused;
  for (int i = 0; i < 1000 && refused.ok(); ++i) refused = client.CreateSession(big).status();
  ASSERT_FALSE(refused.ok()) << "the disk never filled up";
  EXPECT_THAT(refused.code(), ::testing::AnyOf(absl::StatusCode::kResourceExhausted,
                                               absl::StatusCode::kUnavailable))
      << refused;
  EXPECT_THAT(client.CreateSession(create).status().code(), ::testing::Ne(absl::StatusCode::kOk))
      << "writes stay refused while the disk is full";
  EXPECT_EQ(Peek(client, kept.session().id()).entries().at("small").string_value(), "kept")
      << "reads keep working";

  std::filesystem::remove(ballast);
  absl::Status resumed = refused;
  for (absl::Time deadline = absl::Now() + absl::Seconds(30);
       !resumed.ok() && absl::Now() < deadline; absl::SleepFor(absl::Milliseconds(200))) {
    resumed = client.CreateSession(create).status();
  }
  EXPECT_OK(resumed) << "writes resume by themselves once there is space";
  EXPECT_EQ(Peek(client, kept.session().id()).entries().at("small").string_value(), "kept");
}

}  // namespace
}  // namespace sessiond
