// `warden experts` lists the expert plug-ins the host finds; `warden run CAPTURE` runs experts
// over a capture, each on its own thread with its own custody scope, and prints their events and
// how each run ended. Exit status: 0 when every run succeeded, 1 when one did not, 2 for usage
// errors (unknown expert, unreadable capture, bad filter).
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "capture/capture.h"
#include "experts/builtin/builtins.h"
#include "experts/plugin.h"
#include "experts/report.h"
#include "experts/session.h"
#include "tools/warden/commands.h"

namespace warden::cli {
namespace {

using experts::Catalog;

std::atomic<bool> gInterrupted{false};

extern "C" void onInterrupt(int) {
  gInterrupted.store(true);
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process the usual way
}

// Built-ins first, then every directory of the search path.
void loadCatalog(Catalog& catalog, const std::vector<std::string>& expertPath) {
  experts::addBuiltins(catalog);
  for (const std::string& directory : experts::expertSearchPath(expertPath)) {
    catalog.addDirectory(directory);
  }
}

std::string flagNames(std::uint32_t flags) {
  std::vector<std::string> names;
  if (flags & WARDEN_EXPERT_CONFIGURABLE) names.emplace_back("configurable");
  if (flags & WARDEN_EXPERT_NO_EVENTS) names.emplace_back("no-events");
  if (flags & WARDEN_EXPERT_WRITES_CAPTURE) names.emplace_back("writes-capture");
  return fmt::format("{}", fmt::join(names, ","));
}

struct ExpertsOptions {
  std::vector<std::string> expertPath;
  bool json = false;
};

int listExperts(const ExpertsOptions& options) {
  Catalog catalog;
  loadCatalog(catalog, options.expertPath);
  if (options.json) {
    nlohmann::ordered_json doc;
    doc["experts"] = nlohmann::ordered_json::array();
    for (const auto& p : catalog.plugins()) {
      doc["experts"].push_back({{"id", p->id()},
                                {"name", p->name()},
                                {"vendor", p->vendor()},
                                {"description", p->description()},
                                {"version", p->version()},
                                {"flags", flagNames(p->flags())},
                                {"path", p->path()}});
    }
    doc["errors"] = nlohmann::ordered_json::array();
    for (const auto& e : catalog.errors()) {
      doc["errors"].push_back({{"path", e.path}, {"error", e.status.toString()}});
    }
    std::fputs((doc.dump(2) + "\n").c_str(), stdout);
  } else {
    for (const auto& p : catalog.plugins()) {
      std::printf("%-12s %s (%s)%s%s\n             %s\n             %s\n", p->id().c_str(),
                  std::string(p->name()).c_str(), std::string(p->vendor()).c_str(),
                  p->flags() ? " " : "", flagNames(p->flags()).c_str(),
                  std::string(p->description()).c_str(), p->path().c_str());
    }
    for (const auto& e : catalog.errors()) {
      std::printf("cannot load %s: %s\n", e.path.c_str(), e.status.toString().c_str());
    }
  }
  return catalog.errors().empty() ? 0 : 1;
}

struct RunOptions {
  std::string capturePath;
  std::vector<std::string> experts;  // NAME[:OPTIONS]
  std::vector<std::string> expertPath;
  double timeoutSeconds = 0;
  double graceSeconds = 2;
  std::string memoryQuota;
  std::size_t blockQuota = 0;
  std::string filter;
  std::uint32_t focusFrame = 0;
  std::string focusField;
  bool json = false;
  bool jsonl = false;
  bool csv = false;
  bool quiet = false;
};

// "64M", "512K", "2G", "1000": bytes (binary units).
Result<std::size_t> parseSize(std::string_view text) {
  std::size_t value = 0, i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (value > (SIZE_MAX - 9) / 10) return InvalidArgumentError("'{}' is too large", text);
    value = value * 10 + static_cast<std::size_t>(text[i] - '0');
  }
  if (i == 0) return InvalidArgumentError("'{}' is not a size (e.g. 64M)", text);
  std::string_view unit = text.substr(i);
  int shift = unit.empty() || unit == "B"                   ? 0
              : unit == "K" || unit == "KiB" || unit == "k" ? 10
              : unit == "M" || unit == "MiB"                ? 20
              : unit == "G" || unit == "GiB"                ? 30
                                                            : -1;
  if (shift < 0) return InvalidArgumentError("'{}': unknown unit '{}' (K, M or G)", text, unit);
  if (shift && value > (SIZE_MAX >> shift)) return InvalidArgumentError("'{}' is too large", text);
  return value << shift;
}

int runExperts(const RunOptions& options) {
  auto opened = capture::Capture::open(options.capturePath);
  if (!opened.ok()) {
    std::fprintf(stderr, "warden run: %s\n", opened.status().toString().c_str());
    return 2;
  }
  for (const Status& warning : opened->warnings()) {
    std::fprintf(stderr, "warden run: warning: %s\n", warning.toString().c_str());
  }
  Catalog catalog;
  loadCatalog(catalog, options.expertPath);
  for (const auto& e : catalog.errors()) {
    std::fprintf(stderr, "warden run: warning: cannot load %s: %s\n", e.path.c_str(),
                 e.status.toString().c_str());
  }
  std::vector<experts::RunRequest> requests;
  if (options.experts.empty()) {
    for (const auto& p : catalog.plugins()) {
      if (p->path() == "(built in)") requests.push_back({p.get(), ""});
    }
    if (requests.empty()) {
      std::fprintf(stderr, "warden run: no experts to run (give -e NAME)\n");
      return 2;
    }
  }
  for (const std::string& spec : options.experts) {
    std::size_t colon = spec.find(':');
    std::string name = spec.substr(0, colon);
    const experts::Plugin* plugin = catalog.find(name);
    if (plugin == nullptr) {
      std::vector<std::string> known;
      for (const auto& p : catalog.plugins()) known.push_back(p->id());
      std::fprintf(stderr, "warden run: no expert '%s' (available: %s)\n", name.c_str(),
                   fmt::format("{}", fmt::join(known, ", ")).c_str());
      return 2;
    }
    requests.push_back({plugin, colon == std::string::npos ? "" : spec.substr(colon + 1)});
  }

  experts::SessionOptions session;
  if (options.timeoutSeconds > 0) {
    session.timeout =
        std::chrono::milliseconds(static_cast<long long>(options.timeoutSeconds * 1e3));
  }
  session.grace = std::chrono::milliseconds(static_cast<long long>(options.graceSeconds * 1e3));
  if (!options.memoryQuota.empty()) {
    auto quota = parseSize(options.memoryQuota);
    if (!quota.ok()) {
      std::fprintf(stderr, "warden run: --memory-quota: %s\n",
                   std::string(quota.status().message()).c_str());
      return 2;
    }
    session.memoryQuota = *quota;
  }
  if (options.blockQuota) session.blockQuota = options.blockQuota;
  session.filter = options.filter;
  session.focusedFrame = options.focusFrame;
  session.focusedField = options.focusField;
  session.interrupt = &gInterrupted;
  bool showProgress = !options.quiet && isatty(STDERR_FILENO);
  if (showProgress) {
    // "\r protdist 45%  fails 10%" on the terminal, erased before the report.
    session.progress = [](const std::vector<std::pair<std::string, experts::StatusReport>>& runs) {
      std::string line = "\r\x1b[K";
      for (const auto& [id, status] : runs) line += fmt::format(" {} {}%", id, status.percent);
      std::fputs(line.c_str(), stderr);
    };
  }
  auto created = experts::Session::create(*opened, options.capturePath, session);
  if (!created.ok()) {
    std::fprintf(stderr, "warden run: %s\n", created.status().toString().c_str());
    return 2;
  }
  auto previous = std::signal(SIGINT, onInterrupt);
  std::vector<experts::RunResult> results = (*created)->run(requests);
  std::signal(SIGINT, previous);
  if (showProgress) std::fputs("\r\x1b[K", stderr);

  experts::ReportContext context{options.capturePath, opened->frameCount(), options.filter};
  std::string report = options.json    ? experts::reportJson(context, results)
                       : options.jsonl ? experts::reportJsonLines(context, results)
                       : options.csv   ? experts::reportCsv(context, results)
                                       : experts::reportText(context, results);
  std::fwrite(report.data(), 1, report.size(), stdout);
  int code = 0;
  for (const auto& r : results) {
    if (!r.succeeded()) {
      code = 1;
      std::fprintf(stderr, "warden run: %s %s: %s\n", r.expert.c_str(),
                   std::string(experts::outcomeName(r.outcome)).c_str(), r.message.c_str());
    }
  }
  if (std::size_t hung = (*created)->hungRuns(); hung != 0) {
    // In-process there is no way to stop them, and waiting could be forever.
    std::fprintf(stderr, "warden run: %zu expert(s) still running; exiting without them\n", hung);
    std::fflush(stdout);
    std::fflush(stderr);
    _exit(code);
  }
  return code;
}

}  // namespace

void addExperts(CLI::App& app, int& exitCode) {
  auto options = std::make_shared<ExpertsOptions>();
  CLI::App* cmd = app.add_subcommand("experts", "List expert plug-ins and why any failed to load");
  cmd->add_option("--expert-path", options->expertPath,
                  "Directory of expert plug-ins (repeatable; also WARDEN_EXPERT_PATH)");
  cmd->add_flag("--json", options->json, "One JSON document");
  cmd->callback([options, &exitCode] { exitCode = listExperts(*options); });
}

void addRun(CLI::App& app, int& exitCode) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Run experts over a capture (default: the built-ins)");
  cmd->add_option("capture", options->capturePath, "pcap, pcapng or NetMon .cap file")->required();
  cmd->add_option("-e,--expert", options->experts,
                  "NAME or NAME:OPTIONS (key=value,... or a JSON object); repeatable");
  cmd->add_option("--expert-path", options->expertPath,
                  "Directory of expert plug-ins (repeatable; also WARDEN_EXPERT_PATH)");
  cmd->add_option("--timeout", options->timeoutSeconds, "Abort a run after this many seconds")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--grace", options->graceSeconds,
                  "Seconds an aborted run has to return before it counts as hung")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--memory-quota", options->memoryQuota,
                  "Most memory a run may hold through the host (e.g. 64M)");
  cmd->add_option("--block-quota", options->blockQuota, "Most blocks a run may hold");
  cmd->add_option("--filter", options->filter,
                  "Display filter the experts may apply (tcp.port == 80 && ...)");
  cmd->add_option("--focus-frame", options->focusFrame, "Frame number handed to the experts");
  cmd->add_option("--focus-field", options->focusField, "Field name handed to the experts");
  auto* json = cmd->add_flag("--json", options->json, "One JSON document");
  auto* jsonl = cmd->add_flag("--jsonl", options->jsonl, "One JSON object per event, then per run");
  auto* csv =
      cmd->add_flag("--csv", options->csv, "CSV: a run summary, then a table per event shape");
  cmd->add_flag("-q,--quiet", options->quiet, "No progress line on a terminal");
  json->excludes(jsonl)->excludes(csv);
  jsonl->excludes(csv);
  cmd->callback([options, &exitCode] { exitCode = runExperts(*options); });
}

}  // namespace warden::cli
