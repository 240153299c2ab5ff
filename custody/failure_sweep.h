// Allocation-failure sweeps for tests of custody users: run a routine in a fresh Scope with
// allocation attempt 1, 2, 3, ... refused, until a run gets through without meeting the injected
// failure. Each step records what the routine returned, what it left alive (routines that promise
// to clean up must leave nothing), and what the scope's release then did (must leave nothing).
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "custody/scope.h"

namespace warden::custody {

struct SweepStep {
  std::uint64_t failedAttempt;  // which allocation attempt was refused
  bool reached;            // the routine made that attempt (false only on the final, clean run)
  Status status;           // what the routine returned
  Reclaimed leftBehind;    // live in the scope when the routine returned
  std::size_t closersRun;  // by the scope's release
  std::size_t liveAfterRelease;  // blocks alive after the release: anything but 0 is a custody bug
};

// `routine(Scope&) -> Status`. Stops after the first run that did not reach its injected failure,
// or after maxSteps runs.
template <typename Routine>
std::vector<SweepStep> sweepAllocationFailures(Routine&& routine, HeapOptions options = {},
                                               std::uint64_t maxSteps = 100000) {
  std::vector<SweepStep> steps;
  for (std::uint64_t n = 1; n <= maxSteps; ++n) {
    Scope scope("failure sweep", options);
    scope.heap().failAllocationAt(n);
    Status status = routine(scope);
    bool reached = scope.heap().allocationAttempts() >= n;
    HeapStats left = scope.heap().stats();
    ReleaseReport report = scope.release();
    steps.push_back(SweepStep{n,
                              reached,
                              std::move(status),
                              {left.liveBytes, left.liveBlocks},
                              report.closersRun,
                              scope.heap().stats().liveBlocks});
    if (!reached) break;
  }
  return steps;
}

}  // namespace warden::custody
