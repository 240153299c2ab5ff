// `warden custody-demo`: what happens when an expert fails part-way through a run. A simulated
// expert allocates through its run's scope (some of it in a child scope), opens an output file it
// registers with the ledger, and then fails: it throws, or the heap refuses it (quota, injected
// failure). The host catches the failure at the boundary and releases the scope. The report says
// what was taken back; the exit code is non-zero if anything survived the release.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "custody/scope.h"
#include "tools/warden/commands.h"

namespace warden::cli {
namespace {

using custody::HeapOptions;
using custody::HeapStats;
using custody::ReleaseReport;
using custody::Scope;

struct DemoOptions {
  std::uint64_t blocks = 10000;
  std::size_t quota = 0;  // 0: none
  std::uint64_t failAt = 0;
  bool json = false;
};

struct Trace {
  std::string outputPath;
  int fd = -1;
};

// The expert's side: takes memory and a file, then fails. It never cleans up after itself.
Status simulatedExpert(Scope& run, const DemoOptions& options, Trace& trace) {
  std::string path =
      (std::filesystem::temp_directory_path() / "warden-demo-XXXXXX.pcapng").string();
  int fd = mkstemps(path.data(), 7);
  if (fd < 0) return IoError("cannot create an output file in {}: {}", path, std::strerror(errno));
  trace = Trace{path, fd};
  run.ledger().addFd("output descriptor", fd);
  run.ledger().addTempFile("partial output file", path);
  if (::write(fd, "partial", 7) != 7) return IoError("write to {} failed", path);

  WARDEN_ASSIGN_OR_RETURN(Scope * parser, run.createChild("parser"));
  for (std::uint64_t i = 0; i < options.blocks; ++i) {
    std::size_t n = 16 + (i * 2654435761u) % 4081;  // 16..4096 bytes, spread over size classes
    Scope& owner = i % 4 == 0 ? *parser : run;
    Status why;
    void* p = owner.heap().alloc(n, &why);
    if (p == nullptr) return std::move(why).addContext(fmt::format("block {}", i));
    std::memset(p, static_cast<int>(i), n);
  }
  throw std::runtime_error(fmt::format("simulated failure after {} blocks", options.blocks));
}

int runDemo(const DemoOptions& options) {
  // The host's side.
  HeapOptions heapOptions{.name = "demo expert run"};
  if (options.quota != 0) heapOptions.maxBytes = options.quota;
  Scope run("demo expert run", heapOptions);
  if (options.failAt != 0) run.heap().failAllocationAt(options.failAt);

  Trace trace;
  Status failure;
  try {
    failure = simulatedExpert(run, options, trace);
  } catch (const std::exception& e) {
    failure = InternalError("expert threw: {}", e.what());
  }
  HeapStats held = run.heap().stats();
  std::size_t resources = run.ledger().pending();
  ReleaseReport report = run.release();

  bool fileRemoved = trace.outputPath.empty() || !std::filesystem::exists(trace.outputPath);
  bool fdClosed = trace.fd < 0 || fcntl(trace.fd, F_GETFD) == -1;
  std::size_t aliveAfter = run.heap().stats().liveBlocks;
  bool clean = report.clean() && fileRemoved && fdClosed && aliveAfter == 0 &&
               report.memory.blocks == held.liveBlocks && report.memory.bytes == held.liveBytes;

  if (options.json) {
    nlohmann::json failures = nlohmann::json::array();
    for (const auto& f : report.closerFailures) {
      failures.push_back({{"name", f.name}, {"status", f.status.toString()}});
    }
    nlohmann::json out = {{"failure", failure.toString()},
                          {"held",
                           {{"blocks", held.liveBlocks},
                            {"bytes", held.liveBytes},
                            {"peak_bytes", held.peakBytes},
                            {"ledger_entries", resources}}},
                          {"reclaimed",
                           {{"blocks", report.memory.blocks},
                            {"bytes", report.memory.bytes},
                            {"closers_run", report.closersRun},
                            {"closer_failures", failures}}},
                          {"output_file_removed", fileRemoved},
                          {"descriptor_closed", fdClosed},
                          {"blocks_alive_after_release", aliveAfter},
                          {"clean", clean}};
    std::puts(out.dump(2).c_str());
  } else {
    fmt::print(
        "warden custody-demo: a simulated expert run that fails, and what the host takes back\n");
    fmt::print("  expert held    {} blocks, {} bytes (peak {}), {} ledger entries\n",
               held.liveBlocks, held.liveBytes, held.peakBytes, resources);
    fmt::print("  expert failed  {}\n", failure.toString());
    fmt::print("  host reclaimed {} blocks, {} bytes; ran {} closers ({} failed)\n",
               report.memory.blocks, report.memory.bytes, report.closersRun,
               report.closerFailures.size());
    for (const auto& f : report.closerFailures) {
      fmt::print("    closer '{}' failed: {}\n", f.name, f.status.toString());
    }
    fmt::print("  output file removed: {}; descriptor closed: {}; blocks alive after release: {}\n",
               fileRemoved ? "yes" : "NO", fdClosed ? "yes" : "NO", aliveAfter);
  }
  if (!clean) std::fputs("warden custody-demo: the release left something behind\n", stderr);
  return clean ? 0 : 1;
}

}  // namespace

void addCustodyDemo(CLI::App& app, int& exitCode) {
  auto options = std::make_shared<DemoOptions>();
  CLI::App* sub = app.add_subcommand(
      "custody-demo", "Run a simulated expert that fails, and show what the host reclaims");
  sub->add_option("--blocks", options->blocks, "blocks the expert allocates before failing")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{10'000'000}));
  sub->add_option("--quota", options->quota, "the run's memory quota in bytes (default: none)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--fail-at", options->failAt, "refuse the run's N-th allocation (N >= 1)")
      ->check(CLI::PositiveNumber);
  sub->add_flag("--json", options->json, "print the report as JSON");
  sub->callback([options, &exitCode] { exitCode = runDemo(*options); });
}

}  // namespace warden::cli
