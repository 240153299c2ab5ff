// formatUtcTime: floor division so times before 1970 keep a positive fraction; the calendar date
// from the day number by Howard Hinnant's civil_from_days (proleptic Gregorian, as gmtime).
#include "base/time_format.h"

namespace warden {

namespace {

constexpr std::int64_t kNsPerSecond = 1'000'000'000;
constexpr std::int64_t kSecondsPerDay = 86'400;

struct Civil {
  std::int64_t year;
  unsigned month, day;
};

Civil civilFromDays(std::int64_t z) {
  z += 719'468;
  const std::int64_t era = (z >= 0 ? z : z - 146'096) / 146'097;
  const auto doe = static_cast<unsigned>(z - era * 146'097);                     // [0, 146096]
  const unsigned yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;  // [0, 399]
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                  // [0, 365]
  const unsigned mp = (5 * doy + 2) / 153;                                       // [0, 11]
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2), month, day};
}

// `digits` decimal digits of `value`, zero-padded, at `at`.
void put(char* at, std::uint64_t value, int digits) {
  for (int i = digits - 1; i >= 0; --i, value /= 10) at[i] = static_cast<char>('0' + value % 10);
}

}  // namespace

void appendUtcTime(std::string& out, std::int64_t ns) {
  std::int64_t seconds = ns / kNsPerSecond;
  std::int64_t fraction = ns % kNsPerSecond;
  if (fraction < 0) {
    fraction += kNsPerSecond;
    --seconds;
  }
  std::int64_t days = seconds / kSecondsPerDay;
  std::int64_t inDay = seconds % kSecondsPerDay;
  if (inDay < 0) {
    inDay += kSecondsPerDay;
    --days;
  }
  const Civil date = civilFromDays(days);  // int64 nanoseconds reach years 1677 to 2262
  char text[29];                           // YYYY-MM-DD HH:MM:SS.nnnnnnnnn
  put(text, static_cast<std::uint64_t>(date.year), 4);
  text[4] = '-';
  put(text + 5, date.month, 2);
  text[7] = '-';
  put(text + 8, date.day, 2);
  text[10] = ' ';
  put(text + 11, static_cast<std::uint64_t>(inDay / 3600), 2);
  text[13] = ':';
  put(text + 14, static_cast<std::uint64_t>(inDay / 60 % 60), 2);
  text[16] = ':';
  put(text + 17, static_cast<std::uint64_t>(inDay % 60), 2);
  text[19] = '.';
  put(text + 20, static_cast<std::uint64_t>(fraction), 9);
  out.append(text, sizeof text);
}

std::string formatUtcTime(std::int64_t ns) {
  std::string out;
  appendUtcTime(out, ns);
  return out;
}

}  // namespace warden
