// What a run leaves behind: the events it submitted (deep copies, owned by the host), its last
// status, how it ended, and what the host reclaimed from it. Output formats live in report.h.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "custody/heap.h"
#include "custody/ledger.h"
#include "warden/expert.h"

namespace warden::experts {

// The text of a run's events, owned by the host: names (column and event names, sources) interned,
// as a run uses a handful of them across 100,000 events; other text (descriptions, string cells)
// appended to blocks. Events hold views into it, and every RunResult that holds them shares it.
class EventText {
 public:
  EventText() = default;
  EventText(const EventText&) = delete;
  EventText& operator=(const EventText&) = delete;
  std::string_view intern(std::string_view name);
  std::string_view keep(std::string_view text);
  std::size_t bytes() const { return bytes_; }  // held, for the run's event limit

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_set<std::string, Hash, std::equal_to<>> names_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::size_t used_ = 0, capacity_ = 0;  // in the last block
  std::size_t bytes_ = 0;
};

// One typed column value, copied out of the expert's memory.
struct ColumnValue {
  WardenColumnType type = WARDEN_COLUMN_U32;
  union {
    std::int64_t integer = 0;            // U8..I32, FRAME, YESNO/ONOFF/TRUEFALSE (0/1), TIME (ns)
    double real;                         // F64
    std::array<std::uint8_t, 16> bytes;  // MAC (6), IPV4 (4), IPV6 (16)
  };
  std::string_view text;  // STRING, in the run's EventText (or static text)
  // As people read it: "42", "Yes", "00:11:22:33:44:55", "10.0.0.1", an ISO time.
  std::string toString() const;
  void appendTo(std::string& out) const;
  bool isNumber() const;
};

struct Column {
  std::string_view name;
  ColumnValue value;
};

// Text fields are views into the run's EventText (RunResult::text), or static text.
struct Event {
  std::uint32_t id = 0;
  std::uint32_t flags = 0;
  WardenSeverity severity = WARDEN_SEVERITY_INFORMATIONAL;
  std::string_view source;
  std::string_view name;
  std::string_view description;
  std::int64_t timestampNs = 0;
  std::vector<Column> columns;
};

std::string_view severityName(WardenSeverity severity);
std::string_view columnTypeName(WardenColumnType type);
// `real` as fmt's "{:.2f}" writes it, appended without fmt, when that is exact (|real| under 1e7,
// not within a millionth of a cent of a tie); false and nothing appended otherwise.
bool appendTwoDecimals(std::string& out, double real);
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
  std::shared_ptr<const EventText> text;  // what the events' views point into
  std::uint64_t rejectedEvents = 0;       // submissions refused as malformed
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
