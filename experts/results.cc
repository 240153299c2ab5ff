// Names and text forms of result values.
#include "experts/results.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

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

std::string_view EventText::intern(std::string_view name) {
  if (name.empty()) return {};
  auto it = names_.find(name);
  if (it == names_.end()) {
    it = names_.emplace(name).first;
    bytes_ += name.size() + sizeof(std::string);
  }
  return *it;
}

std::string_view EventText::keep(std::string_view text) {
  if (text.empty()) return {};
  constexpr std::size_t kBlock = 64 << 10;
  if (capacity_ - used_ < text.size()) {
    std::size_t size = std::max(kBlock, text.size());
    blocks_.push_back(std::make_unique_for_overwrite<char[]>(size));
    used_ = 0;
    capacity_ = size;
    bytes_ += size;
  }
  char* at = blocks_.back().get() + used_;
  std::memcpy(at, text.data(), text.size());
  used_ += text.size();
  return {at, text.size()};
}

bool appendTwoDecimals(std::string& out, double real) {
  // |real| * 100 below 1e9 has a rounding error under 1.2e-7: away from a tie it cannot move the
  // result to the other side, so the product rounds as the exact value does.
  const double scaled = std::fabs(real) * 100.0;
  if (!(scaled < 1e9)) return false;
  const double whole = std::floor(scaled);
  const double fraction = scaled - whole;
  if (std::fabs(fraction - 0.5) < 1e-6) return false;
  const auto cents = static_cast<std::uint64_t>(whole) + (fraction > 0.5 ? 1 : 0);
  if (std::signbit(real)) out += '-';  // as fmt: -0.001 is "-0.00"
  char text[24];
  out.append(text, std::to_chars(text, text + sizeof text, cents / 100).ptr);
  out += '.';
  out += static_cast<char>('0' + cents % 100 / 10);
  out += static_cast<char>('0' + cents % 10);
  return true;
}

std::string formatTime(std::int64_t ns) { return formatUtcTime(ns); }

bool ColumnValue::isNumber() const { return type <= WARDEN_COLUMN_FRAME; }

std::string ColumnValue::toString() const {
  std::string out;
  appendTo(out);
  return out;
}

void ColumnValue::appendTo(std::string& out) const {
  auto number = [&](auto value) {
    char text[24];
    out.append(text, std::to_chars(text, text + sizeof text, value).ptr);
  };
  switch (type) {
    case WARDEN_COLUMN_F64:
      // Whole numbers (byte counts) print whole; others with two decimals (percentages).
      if (real == static_cast<double>(static_cast<std::int64_t>(real)) && real < 9.0e15 &&
          real > -9.0e15) {
        return number(static_cast<std::int64_t>(real));
      }
      if (real >= 0.01 || real <= -0.01) {
        if (appendTwoDecimals(out, real)) return;
        fmt::format_to(std::back_inserter(out), "{:.2f}", real);
      } else {
        fmt::format_to(std::back_inserter(out), "{:.3g}", real);
      }
      return;
    case WARDEN_COLUMN_YESNO:
      out += integer ? "Yes" : "No";
      return;
    case WARDEN_COLUMN_ONOFF:
      out += integer ? "On" : "Off";
      return;
    case WARDEN_COLUMN_TRUEFALSE:
      out += integer ? "True" : "False";
      return;
    case WARDEN_COLUMN_MAC: {
      decode::Mac mac;
      std::copy_n(bytes.begin(), 6, mac.begin());
      out += decode::macToString(mac);
      return;
    }
    case WARDEN_COLUMN_IPV4:
      for (int i = 0; i < 4; ++i) {
        if (i) out += '.';
        number(static_cast<unsigned>(bytes[i]));
      }
      return;
    case WARDEN_COLUMN_IPV6: {
      decode::Address address;
      address.family = 6;
      address.bytes = bytes;
      out += address.toString();
      return;
    }
    case WARDEN_COLUMN_TIME:
      return appendUtcTime(out, integer);
    case WARDEN_COLUMN_STRING:
      out += text;
      return;
    default:
      return number(integer);
  }
}

}  // namespace warden::experts
