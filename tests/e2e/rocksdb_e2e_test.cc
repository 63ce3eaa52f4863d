// The RocksDB backend through the real binary: a clean restart keeps everything, and a full disk
// fails writes with a clear code while reads go on, until space comes back.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "sessiond/client.h"
#include "tests/support/health.h"
#include "tests/support/sessiond_process.h"
#include "tests/support/status_matchers.h"

namespace sessiond {
namespace {

using ::grpc::health::v1::HealthCheckResponse;
using ::sessiond::testing::HealthOf;
using ::sessiond::testing::IsOk;
using ::sessiond::testing::SessiondProcess;
using ::sessiond::testing::StatusIs;

std::string TempPath(absl::string_view name) {
  return (std::filesystem::temp_directory_path() / absl::StrCat(name, "-", getpid())).string();
}

// Starts sessiond on `data_dir` with a disk reserve of `min_free_disk_bytes` (0: the default).
absl::StatusOr<std::unique_ptr<SessiondProcess>> StartRocksDb(
    const std::string& data_dir, uint64_t min_free_disk_bytes = uint64_t{16} << 20) {
  std::vector<std::string> flags = {"--store=rocksdb", absl::StrCat("--data_dir=", data_dir),
                                    "--drain_grace=0s"};
  if (min_free_disk_bytes != 0) {
    flags.push_back(absl::StrCat("--min_free_disk_bytes=", min_free_disk_bytes));
  }
  return SessiondProcess::Start(std::move(flags));
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

// A file that takes all the free space of a filesystem but `leave` bytes, as another process
// filling the disk would; deleted when it goes out of scope or by Release().
class DiskFiller {
 public:
  DiskFiller(const std::string& directory, absl::string_view name, uint64_t leave = 0)
      : path_(absl::StrCat(directory, "/", name)) {
    struct statvfs stats;
    if (statvfs(directory.c_str(), &stats) != 0) return;
    const uint64_t free = uint64_t{stats.f_bavail} * stats.f_frsize;
    const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    // Whatever the filesystem grants; tmpfs grants it all.
    if (free > leave) posix_fallocate(fd, 0, static_cast<off_t>(free - leave));
    close(fd);
  }
  ~DiskFiller() { Release(); }
  DiskFiller(const DiskFiller&) = delete;
  DiskFiller& operator=(const DiskFiller&) = delete;

  void Release() { std::filesystem::remove(path_); }

 private:
  std::string path_;
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
  // A smaller write may still fit, and a flush running after the refusal frees WAL space: take
  // what is left, racing that flush, until a small write is refused too.
  std::vector<std::unique_ptr<DiskFiller>> rest;
  absl::Status small;
  for (int i = 0; i < 50 && small.ok(); ++i) {
    rest.push_back(std::make_unique<DiskFiller>(disk.path(), absl::StrCat("rest-", i)));
    small = client.CreateSession(create).status();
  }
  EXPECT_THAT(small, StatusIs(absl::StatusCode::kResourceExhausted))
      << "writes are refused while the disk is full";
  EXPECT_EQ(Peek(client, kept.session().id()).entries().at("small").string_value(), "kept")
      << "reads keep working";

  rest.clear();
  std::filesystem::remove(ballast);
  absl::Status resumed = refused;
  for (absl::Time deadline = absl::Now() + absl::Seconds(30);
       !resumed.ok() && absl::Now() < deadline; absl::SleepFor(absl::Milliseconds(200))) {
    resumed = client.CreateSession(create).status();
  }
  EXPECT_OK(resumed) << "writes resume by themselves once there is space";
  EXPECT_EQ(Peek(client, kept.session().id()).entries().at("small").string_value(), "kept");
}

// The bytes free on the filesystem holding `path`.
uint64_t FreeBytes(const std::string& path) {
  struct statvfs stats;
  return statvfs(path.c_str(), &stats) == 0 ? uint64_t{stats.f_bavail} * stats.f_frsize : 0;
}

v1::CreateSessionRequest SmallSession() {
  v1::CreateSessionRequest create;
  (*create.mutable_entries())["small"].set_string_value("kept");
  return create;
}

// Creates sessions until one is refused or `deadline` passes; returns the refusal (or OK).
absl::Status CreateUntilRefused(Client& client, const v1::CreateSessionRequest& create,
                                absl::Duration deadline) {
  absl::Status refused;
  for (const absl::Time end = absl::Now() + deadline; refused.ok() && absl::Now() < end;) {
    refused = client.CreateSession(create).status();
  }
  return refused;
}

// Creates a session until it succeeds or `deadline` passes; returns the last status.
absl::Status CreateWithin(Client& client, absl::Duration deadline) {
  absl::Status created = absl::UnavailableError("not tried");
  for (const absl::Time end = absl::Now() + deadline; !created.ok() && absl::Now() < end;
       absl::SleepFor(absl::Milliseconds(100))) {
    created = client.CreateSession(SmallSession()).status();
  }
  return created;
}

// e(1): another process takes the last free bytes between two writes, faster than any periodic
// check of the free space: the next writes fail (RESOURCE_EXHAUSTED), the process lives on, reads
// keep working, and writes resume once the space is back. Repeated, since it is a race. The disk
// starts nearly full, so that RocksDB cannot preallocate its WAL (which would hide the race).
TEST(RocksDbFullDiskTest, ADiskFilledBetweenTwoWritesFailsWritesWithoutKillingTheServer) {
  SmallFilesystem disk(64 << 20);
  if (!disk.mounted()) GTEST_SKIP() << "mounting a tmpfs needs root (CI runs as root)";
  DiskFiller base(disk.path(), "base", /*leave=*/uint64_t{16} << 20);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SessiondProcess> server,
                       StartRocksDb(disk.path() + "/db", uint64_t{8} << 20));
  Client client(server->NewChannel());
  ASSERT_OK_AND_ASSIGN(v1::CreateSessionResponse kept, client.CreateSession(SmallSession()));
  v1::CreateSessionRequest big;
  (*big.mutable_entries())["blob"].set_bytes_value(std::string(100'000, 'x'));
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    ASSERT_OK(client.CreateSession(big));
    DiskFiller filler(disk.path(), "filler");
    EXPECT_THAT(client.CreateSession(big), StatusIs(absl::StatusCode::kResourceExhausted));
    EXPECT_THAT(client.CreateSession(SmallSession()),
                StatusIs(absl::StatusCode::kResourceExhausted));
    EXPECT_EQ(Peek(client, kept.session().id()).entries().at("small").string_value(), "kept");
    v1::GetRequest renewing;
    renewing.set_id(kept.session().id());
    EXPECT_OK(client.Get(renewing)) << "a read that renews the idle timer works too";
    filler.Release();
    ASSERT_OK(CreateWithin(client, absl::Seconds(20))) << "writes resume";
  }
  server->Signal(SIGTERM);
  EXPECT_EQ(server->Wait(), 0);
}

// e(2): sessiond starts on a full disk, serves reads, refuses writes, and writes resume by
// themselves once space is freed.
TEST(RocksDbFullDiskTest, StartsOnAFullDiskServesReadsAndResumesWritesOnceThereIsSpace) {
  SmallFilesystem disk(64 << 20);
  if (!disk.mounted()) GTEST_SKIP() << "mounting a tmpfs needs root (CI runs as root)";
  const std::string data_dir = disk.path() + "/db";
  std::string id;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<SessiondProcess> server,
                         StartRocksDb(data_dir, uint64_t{8} << 20));
    auto client = std::make_unique<Client>(server->NewChannel());
    ASSERT_OK_AND_ASSIGN(v1::CreateSessionResponse kept, client->CreateSession(SmallSession()));
    id = kept.session().id();
    client.reset();
    server->Signal(SIGKILL);
    server->Wait();
  }
  // Without the ballast sessiond keeps (as if a write had used it up): no room at all to open.
  std::filesystem::remove(data_dir + "/RESERVED");
  DiskFiller filler(disk.path(), "filler");
  ASSERT_LT(FreeBytes(disk.path()), uint64_t{64} << 10);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SessiondProcess> server,
                       StartRocksDb(data_dir, uint64_t{8} << 20));
  Client client(server->NewChannel());
  EXPECT_EQ(Peek(client, id).entries().at("small").string_value(), "kept");
  // Opening may free space (the ballast, the unused tail of the last WAL): take that too.
  DiskFiller freed_by_opening(disk.path(), "freed-by-opening");
  EXPECT_THAT(client.CreateSession(SmallSession()), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(Peek(client, id).entries().at("small").string_value(), "kept");
  // Health says so: the server serves (reads), the session service does not (writes).
  EXPECT_EQ(HealthOf(server->NewChannel()), HealthCheckResponse::SERVING);
  EXPECT_EQ(HealthOf(server->NewChannel(), "sessiond.v1.SessionService"),
            HealthCheckResponse::NOT_SERVING);
  freed_by_opening.Release();
  filler.Release();
  EXPECT_OK(CreateWithin(client, absl::Seconds(20))) << "writes resume";
  EXPECT_EQ(Peek(client, id).entries().at("small").string_value(), "kept");
  // Health is brought in step every second.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (HealthOf(server->NewChannel(), "sessiond.v1.SessionService") !=
             HealthCheckResponse::SERVING &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(HealthOf(server->NewChannel(), "sessiond.v1.SessionService"),
            HealthCheckResponse::SERVING);
}

// e(3): killed while its writes were refused on a full disk, sessiond opens its store and writes
// again once some space is freed (opening replays the WAL, which may need room to flush).
TEST(RocksDbFullDiskTest, AfterAKillOnAFullDiskTheStoreOpensOnceSpaceIsFreed) {
  SmallFilesystem disk(64 << 20);
  if (!disk.mounted()) GTEST_SKIP() << "mounting a tmpfs needs root (CI runs as root)";
  const std::string data_dir = disk.path() + "/db";
  // 8 MiB to free after the kill: less than the WAL the filled store holds.
  DiskFiller base(disk.path(), "base", FreeBytes(disk.path()) - (uint64_t{8} << 20));
  std::string id;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<SessiondProcess> server,
                         StartRocksDb(data_dir, uint64_t{8} << 20));
    Client client(server->NewChannel());
    ASSERT_OK_AND_ASSIGN(v1::CreateSessionResponse kept, client.CreateSession(SmallSession()));
    id = kept.session().id();
    v1::CreateSessionRequest big;
    (*big.mutable_entries())["blob"].set_bytes_value(std::string(200'000, 'x'));
    EXPECT_THAT(CreateUntilRefused(client, big, absl::Seconds(30)),
                StatusIs(absl::StatusCode::kResourceExhausted));
    DiskFiller rest(disk.path(), "rest");
    server->Signal(SIGKILL);
    server->Wait();
  }
  base.Release();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SessiondProcess> server,
                       StartRocksDb(data_dir, uint64_t{8} << 20));
  Client client(server->NewChannel());
  EXPECT_EQ(Peek(client, id).entries().at("small").string_value(), "kept");
  EXPECT_OK(CreateWithin(client, absl::Seconds(20))) << "writes resume";
}

// e(4): on a 256 MiB volume with the default reserve (128 MiB, more than the volume can spare),
// freeing 16 MiB of a full disk lets writes resume.
TEST(RocksDbFullDiskTest, WithTheDefaultReserveFreeingSixteenMiBOfASmallVolumeResumesWrites) {
  SmallFilesystem disk(256 << 20);
  if (!disk.mounted()) GTEST_SKIP() << "mounting a tmpfs needs root (CI runs as root)";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SessiondProcess> server,
                       StartRocksDb(disk.path() + "/db", /*min_free_disk_bytes=*/0));
  Client client(server->NewChannel());
  ASSERT_OK_AND_ASSIGN(v1::CreateSessionResponse kept, client.CreateSession(SmallSession()));
  DiskFiller sixteen(disk.path(), "sixteen", FreeBytes(disk.path()) - (uint64_t{16} << 20));
  DiskFiller rest(disk.path(), "rest");
  EXPECT_THAT(CreateUntilRefused(client, SmallSession(), absl::Seconds(5)),
              StatusIs(absl::StatusCode::kResourceExhausted));
  sixteen.Release();
  EXPECT_OK(CreateWithin(client, absl::Seconds(20))) << "writes resume";
  EXPECT_EQ(Peek(client, kept.session().id()).entries().at("small").string_value(), "kept");
}

// What a watcher records of an event: enough to compare with the script.
struct Seen {
  uint64_t sequence;
  v1::SessionEvent::Kind kind;
  std::string id;

  friend bool operator==(const Seen& a, const Seen& b) {
    return a.kind == b.kind && a.id == b.id;  // sequences are compared for order separately
  }
  friend std::ostream& operator<<(std::ostream& out, const Seen& seen) {
    return out << v1::SessionEvent::Kind_Name(seen.kind) << " " << seen.id << " #" << seen.sequence;
  }
};

// Watches `channel` from `from_sequence` until it has `count` more events (or 30 s pass), through
// the client's EventStream, and returns them.
std::vector<Seen> WatchFor(const std::shared_ptr<grpc::Channel>& channel, uint64_t from_sequence,
                           size_t count) {
  v1::WatchSessionsRequest request;
  request.set_from_sequence(from_sequence);
  CallOptions call;
  call.deadline = absl::Now() + absl::Seconds(30);
  Client client(channel);
  std::unique_ptr<EventStream> stream = client.WatchSessions(request, call);
  std::vector<Seen> seen;
  while (seen.size() < count) {
    std::optional<v1::SessionEvent> event = stream->Next();
    if (!event.has_value()) break;
    seen.push_back({event->sequence(), event->kind(), event->id()});
  }
  return seen;
}

TEST(RocksDbE2eTest, AWatcherSeesEveryEventOnceAndInOrderAcrossARestart) {
  using Kind = v1::SessionEvent;
  const std::string data_dir = TempPath("sessiond-watch-restart");
  std::vector<Seen> expected;
  // The script: create, update, rotate, delete, revoke; half before the restart, half after.
  auto script = [&expected](Client& client, const std::shared_ptr<grpc::Channel>& channel,
                            absl::string_view user) {
    v1::CreateSessionRequest create;
    create.set_principal(std::string(user));
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<v1::CreateSessionResponse> created = client.CreateSession(create);
      if (!created.ok()) return created.status();
      ids.push_back(created->session().id());
      expected.push_back({0, Kind::CREATED, ids.back()});
    }
    v1::SetRequest set;
    set.set_id(ids[0]);
    (*set.mutable_entries())["cart"].set_int64_value(3);
    if (absl::Status status = client.Set(set).status(); !status.ok()) return status;
    expected.push_back({0, Kind::UPDATED, ids[0]});
    v1::RotateIdRequest rotate;
    rotate.set_id(ids[1]);
    absl::StatusOr<v1::RotateIdResponse> rotated = client.RotateId(rotate);
    if (!rotated.ok()) return rotated.status();
    expected.push_back({0, Kind::ROTATED, ids[1]});
    v1::DeleteRequest remove;
    remove.set_id(ids[2]);
    if (absl::Status status = client.Delete(remove).status(); !status.ok()) return status;
    expected.push_back({0, Kind::DELETED, ids[2]});
    // Revoked one at a time (all but the rotated one, then the rest), so the order is the script's.
    auto stub = v1::SessionService::NewStub(channel);
    for (const std::string& kept : {rotated->session().id(), std::string()}) {
      v1::RevokeSessionsRequest revoke;
      revoke.set_principal(std::string(user));
      if (!kept.empty()) revoke.add_except_ids(kept);
      grpc::ClientContext context;
      v1::RevokeSessionsResponse revoked;
      const grpc::Status status = stub->RevokeSessions(&context, revoke, &revoked);
      if (!status.ok() || revoked.revoked() != 1) {
        return absl::InternalError(absl::StrCat("RevokeSessions: ", status.error_message(), " ",
                                                revoked.ShortDebugString()));
      }
      expected.push_back({0, Kind::REVOKED, kept.empty() ? rotated->session().id() : ids[0]});
    }
    return absl::OkStatus();
  };

  std::vector<Seen> seen;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<SessiondProcess> server, StartRocksDb(data_dir));
    auto client = std::make_unique<Client>(server->NewChannel());
    ASSERT_OK(script(*client, server->NewChannel(), "alice"));
    seen = WatchFor(server->NewChannel(), 1, expected.size());
    // More happens while no one watches, just before the server stops.
    ASSERT_OK(script(*client, server->NewChannel(), "bob"));
    client.reset();
    server->Signal(SIGTERM);
    ASSERT_EQ(server->Wait(), 0);
  }
  ASSERT_FALSE(seen.empty());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SessiondProcess> restarted, StartRocksDb(data_dir));
  {
    Client client(restarted->NewChannel());
    ASSERT_OK(script(client, restarted->NewChannel(), "carol"));
  }
  // The watcher resumes after the last sequence it saw.
  std::vector<Seen> resumed =
      WatchFor(restarted->NewChannel(), seen.back().sequence + 1, expected.size() - seen.size());
  seen.insert(seen.end(), resumed.begin(), resumed.end());
  EXPECT_THAT(seen, ::testing::ElementsAreArray(expected));
  for (size_t i = 1; i < seen.size(); ++i) {
    EXPECT_GT(seen[i].sequence, seen[i - 1].sequence) << "at " << i;
  }
  std::filesystem::remove_all(data_dir);
}

}  // namespace
}  // namespace sessiond
