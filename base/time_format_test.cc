#include "base/time_format.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

TEST(TimeFormat, NanosecondsSinceTheEpochInUtc) {
  EXPECT_EQ(formatUtcTime(0), "1970-01-01 00:00:00.000000000");
  EXPECT_EQ(formatUtcTime(1'000'000'000'000'000'123), "2001-09-09 01:46:40.000000123");
  EXPECT_EQ(formatUtcTime(-1), "1969-12-31 23:59:59.999999999");  // floor, not truncation
}

}  // namespace
}  // namespace warden
