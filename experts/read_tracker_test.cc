// ReadTracker keeps runs together: a run far ahead of the slowest waits until the slowest moves,
// and goes on without one that stands still, not waiting for it again until it moves.
#include "experts/read_tracker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "capture/capture.h"

namespace warden::experts {
namespace {

// Any capture: the tracker releases its pages, which only costs mapping them again.
Result<capture::Capture> someCapture() {
  return capture::Capture::open(std::string(WARDEN_SHARED_DIR) +
                                "/captures/zeek_http_bro.org.pcap");
}

TEST(ReadTracker, ARunAheadWaitsUntilTheSlowestMoves) {
  auto capture = someCapture();
  if (!capture.ok()) GTEST_SKIP() << capture.status().toString();
  // A patience far longer than the test: the run ahead can only go on because the slowest moved.
  ReadTracker tracker(*capture, 2, {.spread = 1000, .patience = std::chrono::minutes(1)});
  tracker.moved(0, 0);
  std::atomic<bool> slowestMoved{false};
  bool sawIt = false;
  std::thread ahead([&] {
    tracker.moved(1, 50'000);  // 50,000 bytes ahead: waits
    sawIt = slowestMoved.load();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  slowestMoved = true;
  tracker.moved(0, 49'500);  // within the spread of the other now
  ahead.join();
  EXPECT_TRUE(sawIt) << "the run ahead went on before the slowest moved";
  EXPECT_EQ(tracker.stalls(), 0u);
  tracker.done(0);
  tracker.done(1);
}

TEST(ReadTracker, ASlowestRunThatStandsStillIsWaitedForOnce) {
  auto capture = someCapture();
  if (!capture.ok()) GTEST_SKIP() << capture.status().toString();
  ReadTracker tracker(*capture, 3, {.spread = 1000, .patience = std::chrono::milliseconds(5)});
  tracker.moved(0, 0);  // stands still
  tracker.moved(1, 10'000);
  EXPECT_EQ(tracker.stalls(), 1u);
  tracker.moved(1, 20'000);
  tracker.moved(1, 30'000);
  EXPECT_EQ(tracker.stalls(), 1u) << "run 0 stood still: not waited for again";
  tracker.moved(2, 25'000);  // behind run 1, and run 0 is not counted: the slowest that moves
  EXPECT_EQ(tracker.stalls(), 1u);
  tracker.moved(0, 1'000);   // it moves: waited for again
  tracker.moved(1, 40'000);  // waits for run 0, then for run 2: both stand still
  EXPECT_EQ(tracker.stalls(), 3u);
  tracker.done(0);
  tracker.moved(1, 50'000);
  EXPECT_EQ(tracker.stalls(), 3u) << "run 0 is done, run 2 stands still";
  tracker.moved(2, 45'000);  // it moves: run 1 waits for it again
  tracker.moved(1, 60'000);
  EXPECT_EQ(tracker.stalls(), 4u);
  tracker.done(1);
  tracker.done(2);
}

}  // namespace
}  // namespace warden::experts
