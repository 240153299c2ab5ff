// Timestamps as people read them.
#pragma once

#include <cstdint>
#include <string>

namespace warden {

// Nanoseconds since the Unix epoch as "2023-11-14 22:13:20.123456789" (UTC, no zone suffix).
std::string formatUtcTime(std::int64_t ns);
// The same, appended to `out` (reports write hundreds of thousands of them).
void appendUtcTime(std::string& out, std::int64_t ns);

}  // namespace warden
