#include "service/logging.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace sessiond::service {
namespace {

TEST(LoggingTest, JsonRecordIsOneObjectWithTimeLevelMessageAndFields) {
  const std::string line = FormatLogRecord(true, LogLevel::kError, "disk \"full\"\n\ttry\x01",
                                           {{"store", "rocksdb"}, {"path", "C:\\data"}});
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one record, one line";
  const nlohmann::json record = nlohmann::json::parse(line);
  EXPECT_EQ(record["level"], "error");
  EXPECT_EQ(record["message"], "disk \"full\"\n\ttry\x01");
  EXPECT_EQ(record["store"], "rocksdb");
  EXPECT_EQ(record["path"], "C:\\data");
  const std::string time = record["time"];
  EXPECT_EQ(time.size(), std::string("2026-01-02T03:04:05.678Z").size()) << time;
  EXPECT_EQ(time.back(), 'Z');
}

TEST(LoggingTest, TextRecordIsPrefixedWithFieldsAppended) {
  EXPECT_EQ(FormatLogRecord(false, LogLevel::kInfo, "serving on port 5", {{"store", "memory"}}),
            "sessiond: serving on port 5 store=memory");
}

TEST(LoggingTest, UnknownFormatIsRefusedNamingTheFlag) {
  absl::Status status = InitLogging("yaml");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("--log_format=yaml"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace sessiond::service
