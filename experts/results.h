// What a run leaves behind: the events it submitted (deep copies, owned by the host), its last
// status, how it ended, and what the host reclaimed from it. Output formats live in report.h.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "custody/heap.h"
#include "custody/ledger.h"
#include "warden/expert.h"

namespace warden::experts {

// One typed column value, copied out of the expert's memory.
struct ColumnValue {
  WardenColumnType type = WARDEN_COLUMN_U32;
  std::int64_t integer = 0;              // U8..I32, FRAME, YESNO/ONOFF/TRUEFALSE (0/1), TIME (ns)
  double real = 0;                       // F64
  std::array<std::uint8_t, 16> bytes{};  // MAC (6), IPV4 (4), IPV6 (16)
  std::string text;                      // STRING
  // As people read it: "42", "Yes", "00:11:22:33:44:55", "10.0.0.1", an ISO time.
  std::string toString() const;
  void appendTo(std::string& out) const;
  bool isNumber() const;
};

struct Column {
  std::string name;
  ColumnValue value;
};

struct Event {
  std::uint32_t id = 0;
  std::uint32_t flags = 0;
  WardenSeverity severity = WARDEN_SEVERITY_INFORMATIONAL;
  std::string source;
  std::string name;
  std::string description;
  std::int64_t timestampNs = 0;
  std::vector<Column> columns;
};

std::string_view severityName(WardenSeverity severity);
std::string_view columnTypeName(WardenColumnType type);
// "2024-05-01 12:00:00.123456789" (UTC).
std::string formatTime(std::int64_t ns);

// How a run ended. Everything but kSucceeded is a failure the host cleaned up after.
enum class Outcome {
  kSucceeded,        // Run returned success
  kFailed,           // Run (or Configure) returned failure
  kThrew,            // an exception left Run or Configure; the host caught it
  kCancelled,        // the user aborted (Ctrl-C)
  kTimedOut,         // past --timeout
  kQuotaExceeded,    // past --memory-quota (or the block quota)
  kLimitExceeded,    // past a host limit on events
  kHung,             // aborted, and still running after the grace period
  kBadConfiguration  // unknown options, options to an expert that takes none, a bad blob
};
std::string_view outcomeName(Outcome outcome);

struct StatusReport {
  WardenStatus status = WARDEN_STATUS_INACTIVE;
  std::uint32_t subStatus = 0;
  std::string text;
  int percent = 0;
};

struct RunResult {
  std::string expert;  // the id it was asked for by
  std::string name;    // its display name
  std::string options;
  Outcome outcome = Outcome::kSucceeded;
  std::string message;                // why, for anything but success
  StatusReport status;                // the last status it indicated
  std::vector<std::string> problems;  // texts of every PROBLEM status
  std::vector<Event> events;
  std::uint64_t rejectedEvents = 0;  // submissions refused as malformed
  std::uint64_t framesRead = 0;
  std::chrono::nanoseconds duration{0};
  // Memory: the run's heap over its whole life, and what was still held when the host released
  // it (for a failed run, what the host took back).
  custody::HeapStats memory;
  custody::Reclaimed reclaimed;
  std::size_t closersRun = 0;
  std::vector<custody::CloserFailure> closerFailures;
  bool succeeded() const { return outcome == Outcome::kSucceeded; }
};

}  // namespace warden::experts
