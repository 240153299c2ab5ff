#include "base/time_format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <vector>

namespace warden {
namespace {

TEST(TimeFormat, NanosecondsSinceTheEpochInUtc) {
  EXPECT_EQ(formatUtcTime(0), "1970-01-01 00:00:00.000000000");
  EXPECT_EQ(formatUtcTime(1'000'000'000'000'000'123), "2001-09-09 01:46:40.000000123");
  EXPECT_EQ(formatUtcTime(-1), "1969-12-31 23:59:59.999999999");  // floor, not truncation
}

// libc's gmtime as the oracle: the ends of the range, leap days, century years, and a stride of
// about 11 days and a few hours through all of it.
TEST(TimeFormat, AgreesWithGmtimeOverTheWholeRange) {
  auto reference = [](std::int64_t ns) {
    std::int64_t seconds = ns / 1'000'000'000, fraction = ns % 1'000'000'000;
    if (fraction < 0) fraction += 1'000'000'000, --seconds;
    std::time_t t = static_cast<std::time_t>(seconds);
    std::tm parts{};
    gmtime_r(&t, &parts);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d:%02d.%09lld", parts.tm_year + 1900,
                  parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                  static_cast<long long>(fraction));
    return std::string(text);
  };
  constexpr std::int64_t kDay = 86'400'000'000'000;
  std::vector<std::int64_t> cases = {
      INT64_MIN, INT64_MAX, 951'782'400 * 1'000'000'000LL, 4'107'542'400 * 1'000'000'000LL - 1,
      -kDay,     kDay - 1};
  constexpr std::int64_t kStride = 11 * kDay + 10'800'000'000'007;
  for (std::int64_t ns = INT64_MIN + 7; ns < INT64_MAX - kStride; ns += kStride)
    cases.push_back(ns);
  for (std::int64_t ns = -3 * kDay; ns < 3 * kDay; ns += 3'600'000'000'001) cases.push_back(ns);
  for (std::int64_t ns : cases) EXPECT_EQ(formatUtcTime(ns), reference(ns)) << ns;
}

}  // namespace
}  // namespace warden
