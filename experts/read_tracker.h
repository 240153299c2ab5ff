// Where each run of one Session::run() reads the capture, for two ends.
//
// Runs keep together: a run more than `spread` ahead of the slowest waits for it. The runs then
// read what the caches still hold from the others, and they end together instead of the slowest
// finishing alone on one core while the others' cores idle. For the six built-ins on 237 MB on
// two cores: 0.31 s with runs free (1.5 to 1.8 cores busy), 0.26 s kept within 8 MiB
// (`perf stat -r 10`). A slowest run that makes no forward progress for `patience` (an expert busy
// elsewhere, hung, or reading backwards) is not waited for until it moves forward again.
//
// Bytes runs have left behind leave resident memory (Capture::release): however large the file,
// what stays mapped is bounded, and peak RSS stays flat. A run up to kLead ahead of the slowest
// leaves what it read for the slowest to release once it has read it too, so each page is mapped
// once; a run further ahead releases behind itself but for the windows of runs reading there, and
// the slower ones map those bytes again from the page cache.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "capture/capture.h"

namespace warden::experts {

struct ReadTrackerOptions {
  std::uint64_t spread = std::uint64_t{8} << 20;  // how far ahead of the slowest a run may read
  std::chrono::milliseconds patience{20};         // how long it waits for a slowest run standing
};

class ReadTracker {
 public:
  // How far a run moves between reports.
  static constexpr std::uint64_t kReportEvery = std::uint64_t{2} << 20;

  ReadTracker(const capture::Capture& capture, std::size_t runs, ReadTrackerOptions options = {});
  // Run `slot` read the frame at file `offset`, and still reads bytes from `keep` on (frames it
  // holds until it can decide about them; UINT64_MAX: only where it reads). It may wait here for
  // the slowest run: runs keep together by where they read, bytes are let go by where they keep.
  void moved(std::size_t slot, std::uint64_t offset, std::uint64_t keep = UINT64_MAX);
  // Run `slot` reads no more.
  void done(std::size_t slot);
  // Times a run waited for the slowest and went on because that one stood still.
  std::uint64_t stalls() const;

 private:
  static constexpr std::uint64_t kNotReading = UINT64_MAX;
  static constexpr std::uint64_t kMargin = std::uint64_t{4} << 20;
  // How far ahead of the slowest run a run may leave its bytes mapped for it.
  static constexpr std::uint64_t kLead = std::uint64_t{64} << 20;

  void release(std::uint64_t before, std::uint64_t keep);
  void keepTogether(std::size_t slot, std::unique_lock<std::mutex>& lock);
  void releaseUnread(std::uint64_t from, std::uint64_t to);

  const capture::Capture& capture_;
  const ReadTrackerOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t waiters_ = 0;
  std::uint64_t stalls_ = 0;
  std::vector<std::uint64_t> offsets_;  // each run's last reported offset
  std::vector<std::uint64_t> keeps_;    // and where the bytes it still reads begin
  std::vector<bool> stalled_;           // not waited for until it moves forward
};

}  // namespace warden::experts
