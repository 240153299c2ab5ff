// Names and text forms of result values.
#include "experts/results.h"

#include <fmt/format.h>

#include "base/time_format.h"
#include "decode/decoder.h"

namespace warden::experts {

std::string_view severityName(WardenSeverity severity) {
  switch (severity) {
    case WARDEN_SEVERITY_INFORMATIONAL:
      return "informational";
    case WARDEN_SEVERITY_WARNING:
      return "warning";
    case WARDEN_SEVERITY_STRONG_WARNING:
      return "strong warning";
    case WARDEN_SEVERITY_ERROR:
      return "error";
    case WARDEN_SEVERITY_SEVERE_ERROR:
      return "severe error";
    case WARDEN_SEVERITY_CRITICAL:
      return "critical";
  }
  return "unknown";
}

std::string_view columnTypeName(WardenColumnType type) {
  static constexpr std::string_view kNames[] = {
      "u8",    "i8",    "u16",       "i16", "u32",  "i32",  "f64",  "frame",
      "yesno", "onoff", "truefalse", "mac", "ipv4", "ipv6", "time", "string"};
  return type <= WARDEN_COLUMN_STRING ? kNames[type] : "unknown";
}

std::string_view outcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kSucceeded:
      return "succeeded";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kThrew:
      return "threw";
    case Outcome::kCancelled:
      return "cancelled";
    case Outcome::kTimedOut:
      return "timed out";
    case Outcome::kQuotaExceeded:
      return "quota exceeded";
    case Outcome::kLimitExceeded:
      return "limit exceeded";
    case Outcome::kHung:
      return "hung";
    case Outcome::kBadConfiguration:
      return "bad configuration";
  }
  return "unknown";
}

std::string formatTime(std::int64_t ns) { return formatUtcTime(ns); }

bool ColumnValue::isNumber() const { return type <= WARDEN_COLUMN_FRAME; }

std::string ColumnValue::toString() const {
  switch (type) {
    case WARDEN_COLUMN_F64:
      // Whole numbers (byte counts) print whole; others with two decimals (percentages).
      if (real == static_cast<double>(static_cast<std::int64_t>(real)) && real < 9.0e15 &&
          real > -9.0e15) {
        return fmt::format("{}", static_cast<std::int64_t>(real));
      }
      return real >= 0.01 || real <= -0.01 ? fmt::format("{:.2f}", real)
                                           : fmt::format("{:.3g}", real);
    case WARDEN_COLUMN_YESNO:
      return integer ? "Yes" : "No";
    case WARDEN_COLUMN_ONOFF:
      return integer ? "On" : "Off";
    case WARDEN_COLUMN_TRUEFALSE:
      return integer ? "True" : "False";
    case WARDEN_COLUMN_MAC: {
      decode::Mac mac;
      std::copy_n(bytes.begin(), 6, mac.begin());
      return decode::macToString(mac);
    }
    case WARDEN_COLUMN_IPV4:
    case WARDEN_COLUMN_IPV6: {
      decode::Address address;
      address.family = type == WARDEN_COLUMN_IPV4 ? 4 : 6;
      address.bytes = bytes;
      return address.toString();
    }
    case WARDEN_COLUMN_TIME:
      return formatTime(integer);
    case WARDEN_COLUMN_STRING:
      return text;
    default:
      return fmt::format("{}", integer);
  }
}

}  // namespace warden::experts
