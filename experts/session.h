// Session: runs experts over one opened capture. Each run gets its own thread and its own custody
// Scope; the helpers of expert.h allocate there, and whatever way the run ends (success, failure,
// exception, abort, timeout, quota) the host releases the scope: closers first, then memory, and
// records what it took back. Cancellation is cooperative as in Network Monitor 2: after an abort
// every helper answers WARDEN_ERR_TERMINATE; a run still going a grace period later is reported
// as hung and left to finish on its own (in-process it cannot be killed).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "capture/capture.h"
#include "custody/heap.h"
#include "decode/display_filter.h"
#include "experts/plugin.h"
#include "experts/results.h"

namespace warden::experts {

struct SessionOptions {
  std::optional<std::chrono::milliseconds> timeout;  // per run, from its start
  std::size_t memoryQuota = custody::kUnlimited;     // bytes live at once, per run
  std::size_t blockQuota = custody::kUnlimited;      // blocks live at once, per run
  std::chrono::milliseconds grace{2000};             // after an abort, before a run counts as hung
  std::string filter;  // display filter for WARDEN_FRAME_APPLY_RUN_FILTER
  std::uint32_t focusedFrame = 0;
  std::string focusedField;
  std::size_t maxEventBytes = std::size_t{256} << 20;  // per run, copies included
  // Polled by the host while runs are going: set (from a signal handler) to abort every run.
  const std::atomic<bool>* interrupt = nullptr;
  // Called on the host's thread about every progressInterval while runs are going, with each
  // run's expert id and last status (a progress line on a terminal, for instance).
  std::function<void(const std::vector<std::pair<std::string, StatusReport>>&)> progress;
  std::chrono::milliseconds progressInterval{250};
};

struct RunRequest {
  const Plugin* plugin = nullptr;
  std::string options;  // "name=value,..." or a JSON object
};

class RunContext;

class Session {
 public:
  // The capture (and the plug-ins) must outlive the session. InvalidArgument for a bad filter.
  static Result<std::unique_ptr<Session>> create(const capture::Capture& capture,
                                                 std::string capturePath, SessionOptions options);
  // Waits for hung runs (see waitForHung).
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Runs every request at once, each on its own thread, and returns when each has ended or been
  // declared hung. Results are in request order. May be called again after it returns.
  std::vector<RunResult> run(const std::vector<RunRequest>& requests);
  // Aborts every run in progress (any thread).
  void cancel();
  // Runs reported hung that have not finished yet.
  std::size_t hungRuns() const;
  // Waits until every hung run has returned and been released; their final results (outcome
  // still kHung, with what the host reclaimed once it could).
  std::vector<RunResult> waitForHung();

  const capture::Capture& capture() const { return capture_; }
  const std::string& capturePath() const { return capturePath_; }
  const SessionOptions& options() const { return options_; }
  const decode::DisplayFilter* runFilter() const { return runFilter_ ? &*runFilter_ : nullptr; }

 private:
  friend class RunContext;
  Session(const capture::Capture& capture, std::string capturePath, SessionOptions options);
  void notifyFinished();

  const capture::Capture& capture_;
  std::string capturePath_;
  SessionOptions options_;
  std::optional<decode::DisplayFilter> runFilter_;
  mutable std::mutex mutex_;
  std::condition_variable finished_;
  std::vector<std::unique_ptr<RunContext>> active_;  // the current run() call's
  std::vector<std::unique_ptr<RunContext>> hung_;
};

}  // namespace warden::experts
