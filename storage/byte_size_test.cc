#include "storage/byte_size.h"

#include <string>

#include "gtest/gtest.h"

namespace sessiond::storage {
namespace {

uint64_t Parse(absl::string_view text) {
  ByteSize size;
  std::string error;
  EXPECT_TRUE(AbslParseFlag(text, &size, &error)) << text << ": " << error;
  return size.bytes;
}

std::string ParseError(absl::string_view text) {
  ByteSize size;
  std::string error;
  EXPECT_FALSE(AbslParseFlag(text, &size, &error)) << text;
  return error;
}

TEST(ByteSizeTest, TakesPlainNumbersAndBinaryUnits) {
  EXPECT_EQ(Parse("0"), 0u);
  EXPECT_EQ(Parse("1048576"), 1048576u);
  EXPECT_EQ(Parse("512B"), 512u);
  EXPECT_EQ(Parse("64KiB"), 64u << 10);
  EXPECT_EQ(Parse("256MiB"), 256u << 20);
  EXPECT_EQ(Parse("1GiB"), uint64_t{1} << 30);
  EXPECT_EQ(Parse("2TiB"), uint64_t{2} << 40);
}

TEST(ByteSizeTest, RefusesWhatIsNotAByteCount) {
  EXPECT_NE(ParseError("").find("not a byte count"), std::string::npos);
  EXPECT_NE(ParseError("-1").find("not a byte count"), std::string::npos);
  EXPECT_NE(ParseError("1.5GiB").find("not a unit"), std::string::npos);
  EXPECT_NE(ParseError("64MB").find("KiB, MiB, GiB or TiB"), std::string::npos);
  EXPECT_NE(ParseError("99999999999TiB").find("too large"), std::string::npos);
}

TEST(ByteSizeTest, UnparsesInTheLargestExactUnit) {
  EXPECT_EQ(AbslUnparseFlag({0}), "0");
  EXPECT_EQ(AbslUnparseFlag({1000}), "1000");
  EXPECT_EQ(AbslUnparseFlag({256 << 10}), "256KiB");
  EXPECT_EQ(AbslUnparseFlag({uint64_t{3} << 30}), "3GiB");
  EXPECT_EQ(Parse(AbslUnparseFlag({uint64_t{5} << 20})), uint64_t{5} << 20);
}

}  // namespace
}  // namespace sessiond::storage
