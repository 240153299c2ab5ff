// Report formats. Events with the same id and the same column names form one table (NM2 experts
// emit a summary row and detail rows under one id, with different columns): text and CSV print a
// header whenever that shape changes. Fixed columns hidden by an event's NMEVENTFLAG_DO_NOT_DISPLAY
// bits, or empty in every row of a table, are left out of text and CSV; JSON keeps everything.
#include "experts/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>
#include <string_view>
#include <thread>

#include "base/time_format.h"

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

// A run of events of one shape (tables of 100,000 rows are common: TCP Retransmit), which fixed
// columns it shows, its header cells and which columns are numbers (right-aligned).
struct Shape {
  std::size_t begin = 0, end = 0;
  bool severity = false, source = false, name = false, description = false, time = false;
  std::vector<std::string> header;
  std::vector<bool> numeric;
};

// Groups a run's events by shape, in submission order.
std::vector<Shape> shapesOf(const RunResult& run) {
  std::vector<Shape> shapes;
  const auto& events = run.events;
  for (std::size_t begin = 0; begin < events.size();) {
    Shape s;
    s.begin = begin;
    s.end = begin + 1;
    while (s.end < events.size() && sameShape(events[begin], events[s.end])) ++s.end;
    const Event& first = events[begin];
    auto any = [&](auto test) {
      return std::any_of(events.begin() + s.begin, events.begin() + s.end, test);
    };
    s.severity = !(first.flags & kHideSeverity);
    s.source =
        !(first.flags & kHideSource) && any([&](const Event& e) { return e.source != run.name; });
    s.name = !(first.flags & kHideEventName) && any([](const Event& e) { return !e.name.empty(); });
    s.description = !(first.flags & kHideDescription) &&
                    any([](const Event& e) { return !e.description.empty(); });
    s.time = !(first.flags & kHideTime) && any([](const Event& e) { return e.timestampNs != 0; });
    auto addHeader = [&](bool show, const char* title) {
      if (!show) return;
      s.header.emplace_back(title);
      s.numeric.push_back(false);
    };
    addHeader(s.severity, "Severity");
    addHeader(s.source, "Source");
    addHeader(s.name, "Event");
    addHeader(s.description, "Description");
    addHeader(s.time, "Time");
    for (const Column& c : first.columns) {
      s.header.emplace_back(c.name);
      s.numeric.push_back(c.value.isNumber());
    }
    begin = s.end;
    shapes.push_back(std::move(s));
  }
  return shapes;
}

// Calls cell(write) for each cell of `e` its shape shows, in order; write(out) appends the cell's
// text to a string (no string of its own per cell).
template <class Cell>
void forEachCell(const Shape& s, const Event& e, Cell cell) {
  if (s.severity) cell([&](std::string& out) { out += severityName(e.severity); });
  if (s.source) cell([&](std::string& out) { out += e.source; });
  if (s.name) cell([&](std::string& out) { out += e.name; });
  if (s.description) cell([&](std::string& out) { out += e.description; });
  if (s.time) {
    cell([&](std::string& out) {
      if (e.timestampNs) appendUtcTime(out, e.timestampNs);
    });
  }
  for (const Column& c : e.columns) cell([&](std::string& out) { c.value.appendTo(out); });
}

// How many parts to cut `rows` rows into: one per core, none under 4096 rows. The report is
// written after every run has ended, when the other cores are idle.
std::size_t partsFor(std::size_t rows) {
  constexpr std::size_t kRowsPerPart = 4096;
  std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  return std::max<std::size_t>(1, std::min(cores, rows / kRowsPerPart));
}

// Calls part(k, from, to) for each of `parts` parts of rows [begin, end), part 0 on this thread
// and the others on threads of their own; returns when all are done, rethrowing the first
// exception any of them threw.
template <class Part>
void inParts(std::size_t begin, std::size_t end, std::size_t parts, Part part) {
  auto bound = [&](std::size_t k) { return begin + (end - begin) * k / parts; };
  std::vector<std::exception_ptr> errors(parts);
  std::vector<std::thread> threads;
  for (std::size_t k = 1; k < parts; ++k) {
    threads.emplace_back([&, k] {
      try {
        part(k, bound(k), bound(k + 1));
      } catch (...) {
        errors[k] = std::current_exception();
      }
    });
  }
  try {
    part(0, begin, bound(1));
  } catch (...) {
    errors[0] = std::current_exception();
  }
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

// A shape's rows for aligned text: every cell in one string, cell i ending at ends[i].
struct Table {
  const Shape* shape;
  std::string cells;
  std::vector<std::size_t> ends;
  std::size_t columns() const { return shape->header.size(); }
  std::size_t rows() const { return shape->end - shape->begin; }
  std::string_view cell(std::size_t row, std::size_t column) const {
    std::size_t i = row * columns() + column;
    std::size_t begin = i == 0 ? 0 : ends[i - 1];
    return std::string_view(cells).substr(begin, ends[i] - begin);
  }
};

Table tableOf(const RunResult& run, const Shape& shape) {
  std::vector<Table> parts(partsFor(shape.end - shape.begin), Table{&shape, {}, {}});
  inParts(shape.begin, shape.end, parts.size(),
          [&](std::size_t k, std::size_t from, std::size_t to) {
            Table& table = parts[k];
            table.ends.reserve((to - from) * table.columns());
            for (std::size_t i = from; i < to; ++i) {
              forEachCell(shape, run.events[i], [&](auto write) {
                write(table.cells);
                table.ends.push_back(table.cells.size());
              });
            }
          });
  Table& table = parts.front();
  for (std::size_t k = 1; k < parts.size(); ++k) {
    const std::size_t shift = table.cells.size();
    table.cells += parts[k].cells;
    for (std::size_t end : parts[k].ends) table.ends.push_back(shift + end);
  }
  return std::move(table);
}

void appendAligned(std::string& out, const Table& table) {
  const Shape& shape = *table.shape;
  std::vector<std::size_t> width(shape.header.size());
  for (std::size_t c = 0; c < width.size(); ++c) width[c] = shape.header[c].size();
  for (std::size_t r = 0; r < table.rows(); ++r) {
    for (std::size_t c = 0; c < width.size(); ++c)
      width[c] = std::max(width[c], table.cell(r, c).size());
  }
  auto line = [&](auto cell) {
    out += "  ";
    for (std::size_t c = 0; c < width.size(); ++c) {
      if (c) out += "  ";
      std::string_view text = cell(c);
      bool last = c + 1 == width.size();
      if (shape.numeric[c]) out.append(width[c] - text.size(), ' ');
      out += text;
      if (!shape.numeric[c] && !last) out.append(width[c] - text.size(), ' ');
    }
    out += '\n';
  };
  line([&](std::size_t c) { return std::string_view(shape.header[c]); });
  for (std::size_t r = 0; r < table.rows(); ++r)
    line([&](std::size_t c) { return table.cell(r, c); });
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
    std::string key(c.name);
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

// Quotes the cell that starts at `from` and runs to the end of `out`, when it needs it.
void quoteCsvCell(std::string& out, std::size_t from) {
  // One pass over the cell (find_first_of would call memchr once per character).
  if (std::none_of(out.begin() + static_cast<std::ptrdiff_t>(from), out.end(),
                   [](char c) { return c == ',' || c == '"' || c == '\r' || c == '\n'; }))
    return;
  std::string quoted = "\"";
  for (std::size_t i = from; i < out.size(); ++i) {
    if (out[i] == '"') quoted += '"';
    quoted += out[i];
  }
  quoted += '"';
  out.replace(from, std::string::npos, quoted);
}

void appendCsvCell(std::string& out, std::string_view cell) {
  std::size_t from = out.size();
  out += cell;
  quoteCsvCell(out, from);
}

void appendCsvRow(std::string& out, const std::vector<std::string>& cells) {
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i) out += ',';
    appendCsvCell(out, cells[i]);
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
    for (const Shape& shape : shapesOf(run)) {
      out += '\n';
      appendAligned(out, tableOf(run, shape));
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
    for (const Shape& shape : shapesOf(run)) {
      out += "\r\n";
      std::vector<std::string> header{"expert"};
      header.insert(header.end(), shape.header.begin(), shape.header.end());
      appendCsvRow(out, header);
      std::vector<std::string> texts(partsFor(shape.end - shape.begin) - 1);
      inParts(shape.begin, shape.end, texts.size() + 1,
              [&](std::size_t k, std::size_t from, std::size_t to) {
                std::string& text = k == 0 ? out : texts[k - 1];
                for (std::size_t i = from; i < to; ++i) {
                  appendCsvCell(text, run.expert);
                  forEachCell(shape, run.events[i], [&](auto write) {
                    text += ',';
                    std::size_t cell = text.size();
                    write(text);
                    quoteCsvCell(text, cell);
                  });
                  text += "\r\n";
                }
              });
      for (const std::string& text : texts) out += text;
    }
  }
  return out;
}

}  // namespace warden::experts
