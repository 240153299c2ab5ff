// Report formats. Events with the same id and the same column names form one table (NM2 experts
// emit a summary row and detail rows under one id, with different columns): text and CSV print a
// header whenever that shape changes. Fixed columns hidden by an event's NMEVENTFLAG_DO_NOT_DISPLAY
// bits, or empty in every row of a table, are left out of text and CSV; JSON keeps everything.
#include "experts/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace warden::experts {

namespace {

constexpr std::uint32_t kHideSeverity = 0x80000000u;
constexpr std::uint32_t kHideSource = 0x40000000u;
constexpr std::uint32_t kHideEventName = 0x20000000u;
constexpr std::uint32_t kHideDescription = 0x10000000u;
constexpr std::uint32_t kHideTime = 0x04000000u;

bool sameShape(const Event& a, const Event& b) {
  if (a.id != b.id || a.flags != b.flags || a.columns.size() != b.columns.size()) return false;
  for (std::size_t i = 0; i < a.columns.size(); ++i) {
    if (a.columns[i].name != b.columns[i].name) return false;
  }
  return true;
}

// A table: header cells, rows of cells, and which columns are numbers (right-aligned).
struct Table {
  std::vector<std::string> header;
  std::vector<bool> numeric;
  std::vector<std::vector<std::string>> rows;
};

// Groups a run's events into tables, in submission order.
std::vector<Table> eventTables(const RunResult& run) {
  std::vector<Table> tables;
  const auto& events = run.events;
  for (std::size_t begin = 0; begin < events.size();) {
    std::size_t end = begin + 1;
    while (end < events.size() && sameShape(events[begin], events[end])) ++end;
    const Event& first = events[begin];
    auto anyNonEmpty = [&](auto get) {
      for (std::size_t i = begin; i < end; ++i) {
        if (!get(events[i]).empty()) return true;
      }
      return false;
    };
    bool severity = !(first.flags & kHideSeverity);
    bool source = !(first.flags & kHideSource) &&
                  std::any_of(events.begin() + begin, events.begin() + end,
                              [&](const Event& e) { return e.source != run.name; });
    bool name = !(first.flags & kHideEventName) &&
                anyNonEmpty([](const Event& e) -> const std::string& { return e.name; });
    bool description =
        !(first.flags & kHideDescription) &&
        anyNonEmpty([](const Event& e) -> const std::string& { return e.description; });
    bool time = !(first.flags & kHideTime) &&
                std::any_of(events.begin() + begin, events.begin() + end,
                            [](const Event& e) { return e.timestampNs != 0; });
    Table table;
    auto addHeader = [&](bool show, const char* title) {
      if (!show) return;
      table.header.emplace_back(title);
      table.numeric.push_back(false);
    };
    addHeader(severity, "Severity");
    addHeader(source, "Source");
    addHeader(name, "Event");
    addHeader(description, "Description");
    addHeader(time, "Time");
    for (const Column& c : first.columns) {
      table.header.push_back(c.name);
      table.numeric.push_back(c.value.isNumber());
    }
    for (std::size_t i = begin; i < end; ++i) {
      const Event& e = events[i];
      std::vector<std::string> row;
      if (severity) row.emplace_back(severityName(e.severity));
      if (source) row.push_back(e.source);
      if (name) row.push_back(e.name);
      if (description) row.push_back(e.description);
      if (time) row.push_back(e.timestampNs ? formatTime(e.timestampNs) : "");
      for (const Column& c : e.columns) row.push_back(c.value.toString());
      table.rows.push_back(std::move(row));
    }
    tables.push_back(std::move(table));
    begin = end;
  }
  return tables;
}

void appendAligned(std::string& out, const Table& table) {
  std::vector<std::size_t> width(table.header.size());
  for (std::size_t c = 0; c < width.size(); ++c) width[c] = table.header[c].size();
  for (const auto& row : table.rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    out += "  ";
    for (std::size_t c = 0; c < cells.size(); ++c) {
      if (c) out += "  ";
      bool last = c + 1 == cells.size();
      if (table.numeric[c]) {
        out += fmt::format("{:>{}}", cells[c], width[c]);
      } else {
        out += last ? cells[c] : fmt::format("{:<{}}", cells[c], width[c]);
      }
    }
    out += '\n';
  };
  line(table.header);
  for (const auto& row : table.rows) line(row);
}

std::string runSummary(const RunResult& run) {
  std::string text = fmt::format("{}", outcomeName(run.outcome));
  if (!run.message.empty()) text += fmt::format(" ({})", run.message);
  return text;
}

nlohmann::ordered_json columnJson(const ColumnValue& v) {
  switch (v.type) {
    case WARDEN_COLUMN_F64:
      return v.real;
    case WARDEN_COLUMN_YESNO:
    case WARDEN_COLUMN_ONOFF:
    case WARDEN_COLUMN_TRUEFALSE:
      return v.integer != 0;
    case WARDEN_COLUMN_MAC:
    case WARDEN_COLUMN_IPV4:
    case WARDEN_COLUMN_IPV6:
    case WARDEN_COLUMN_TIME:
    case WARDEN_COLUMN_STRING:
      return v.toString();
    default:
      return v.integer;
  }
}

nlohmann::ordered_json eventJson(const Event& e) {
  nlohmann::ordered_json j;
  j["id"] = e.id;
  j["severity"] = severityName(e.severity);
  j["source"] = e.source;
  j["event"] = e.name;
  j["description"] = e.description;
  if (e.timestampNs != 0) {
    j["time"] = formatTime(e.timestampNs);
    j["time_ns"] = e.timestampNs;
  }
  if (e.flags != 0) j["flags"] = e.flags;
  nlohmann::ordered_json columns = nlohmann::ordered_json::object();
  for (const Column& c : e.columns) {
    std::string key = c.name;
    for (int n = 2; columns.contains(key); ++n) key = fmt::format("{}#{}", c.name, n);
    columns[key] = columnJson(c.value);
  }
  j["columns"] = std::move(columns);
  return j;
}

nlohmann::ordered_json runJson(const RunResult& run, bool withEvents) {
  nlohmann::ordered_json j;
  j["expert"] = run.expert;
  j["name"] = run.name;
  if (!run.options.empty()) j["options"] = run.options;
  j["outcome"] = outcomeName(run.outcome);
  if (!run.message.empty()) j["message"] = run.message;
  j["status"] = {{"status", static_cast<int>(run.status.status)},
                 {"substatus", run.status.subStatus},
                 {"text", run.status.text},
                 {"percent", run.status.percent}};
  if (!run.problems.empty()) j["problems"] = run.problems;
  j["frames_read"] = run.framesRead;
  j["seconds"] = std::chrono::duration<double>(run.duration).count();
  j["memory"] = {
      {"peak_bytes", run.memory.peakBytes},       {"allocations", run.memory.totalAllocations},
      {"refused", run.memory.refusedAllocations}, {"invalid_frees", run.memory.invalidFrees},
      {"reclaimed_bytes", run.reclaimed.bytes},   {"reclaimed_blocks", run.reclaimed.blocks}};
  nlohmann::ordered_json failures = nlohmann::ordered_json::array();
  for (const auto& f : run.closerFailures) {
    failures.push_back({{"name", f.name}, {"error", f.status.toString()}});
  }
  j["closers"] = {{"ran", run.closersRun}, {"failures", std::move(failures)}};
  j["event_count"] = run.events.size();
  if (run.rejectedEvents) j["rejected_events"] = run.rejectedEvents;
  if (withEvents) {
    nlohmann::ordered_json events = nlohmann::ordered_json::array();
    for (const Event& e : run.events) events.push_back(eventJson(e));
    j["events"] = std::move(events);
  }
  return j;
}

std::string csvCell(std::string_view cell) {
  if (cell.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(cell);
  std::string quoted = "\"";
  for (char c : cell) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + '"';
}

void appendCsvRow(std::string& out, const std::vector<std::string>& cells) {
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i) out += ',';
    out += csvCell(cells[i]);
  }
  out += "\r\n";
}

}  // namespace

std::string formatBytes(std::size_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024.0));
}

std::string reportText(const ReportContext& context, const std::vector<RunResult>& runs) {
  std::string out = fmt::format("{}: {} frames{}\n", context.capturePath, context.frames,
                                context.filter.empty() ? "" : ", filter " + context.filter);
  for (const RunResult& run : runs) {
    out += fmt::format("\n== {} [{}]: {}\n", run.name, run.expert, runSummary(run));
    out += fmt::format(
        "   {} frames read, {} events, {:.3f} s; memory peak {}, {} allocations; "
        "host reclaimed {} in {} blocks, ran {} closers\n",
        run.framesRead, run.events.size(), std::chrono::duration<double>(run.duration).count(),
        formatBytes(run.memory.peakBytes), run.memory.totalAllocations,
        formatBytes(run.reclaimed.bytes), run.reclaimed.blocks, run.closersRun);
    for (const auto& f : run.closerFailures) {
      out += fmt::format("   closer '{}' failed: {}\n", f.name, f.status.toString());
    }
    for (const std::string& problem : run.problems) out += fmt::format("   problem: {}\n", problem);
    if (run.rejectedEvents)
      out += fmt::format("   {} malformed events refused\n", run.rejectedEvents);
    for (const Table& table : eventTables(run)) {
      out += '\n';
      appendAligned(out, table);
    }
  }
  return out;
}

std::string reportJson(const ReportContext& context, const std::vector<RunResult>& runs) {
  nlohmann::ordered_json doc;
  doc["capture"] = context.capturePath;
  doc["frames"] = context.frames;
  if (!context.filter.empty()) doc["filter"] = context.filter;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const RunResult& run : runs) list.push_back(runJson(run, true));
  doc["runs"] = std::move(list);
  return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string reportJsonLines(const ReportContext& context, const std::vector<RunResult>& runs) {
  std::string out;
  for (const RunResult& run : runs) {
    for (const Event& e : run.events) {
      nlohmann::ordered_json line;
      line["type"] = "event";
      line["expert"] = run.expert;
      line.update(eventJson(e));
      out += line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    }
    nlohmann::ordered_json line;
    line["type"] = "run";
    line["capture"] = context.capturePath;
    line.update(runJson(run, false));
    out += line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  }
  return out;
}

std::string reportCsv(const ReportContext&, const std::vector<RunResult>& runs) {
  std::string out;
  appendCsvRow(out, {"expert", "outcome", "message", "frames_read", "events", "seconds",
                     "peak_bytes", "reclaimed_bytes", "reclaimed_blocks", "closers_run"});
  for (const RunResult& run : runs) {
    appendCsvRow(out,
                 {run.expert, std::string(outcomeName(run.outcome)), run.message,
                  fmt::format("{}", run.framesRead), fmt::format("{}", run.events.size()),
                  fmt::format("{:.6f}", std::chrono::duration<double>(run.duration).count()),
                  fmt::format("{}", run.memory.peakBytes), fmt::format("{}", run.reclaimed.bytes),
                  fmt::format("{}", run.reclaimed.blocks), fmt::format("{}", run.closersRun)});
  }
  for (const RunResult& run : runs) {
    for (const Table& table : eventTables(run)) {
      out += "\r\n";
      std::vector<std::string> header{"expert"};
      header.insert(header.end(), table.header.begin(), table.header.end());
      appendCsvRow(out, header);
      for (const auto& row : table.rows) {
        std::vector<std::string> cells{run.expert};
        cells.insert(cells.end(), row.begin(), row.end());
        appendCsvRow(out, cells);
      }
    }
  }
  return out;
}

}  // namespace warden::experts
