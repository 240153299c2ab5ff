// ReadTracker: run positions, keeping runs together and releasing what they left behind.
#include "experts/read_tracker.h"

#include <algorithm>
#include <utility>

namespace warden::experts {

ReadTracker::ReadTracker(const capture::Capture& capture, std::size_t runs,
                         ReadTrackerOptions options)
    : capture_(capture),
      options_(options),
      offsets_(runs, kNotReading),
      keeps_(runs, kNotReading),
      stalled_(runs, false) {}

void ReadTracker::moved(std::size_t slot, std::uint64_t offset, std::uint64_t keep) {
  std::unique_lock lock(mutex_);
  std::uint64_t before = std::exchange(offsets_[slot], offset);
  std::uint64_t keptBefore = std::exchange(keeps_[slot], std::min(keep, offset));
  if (before == kNotReading || offset > before) stalled_[slot] = false;
  if (waiters_ != 0) changed_.notify_all();
  if (keptBefore != kNotReading && keeps_[slot] > keptBefore) release(keptBefore, keeps_[slot]);
  keepTogether(slot, lock);
}

void ReadTracker::done(std::size_t slot) {
  std::lock_guard lock(mutex_);
  std::uint64_t at = std::exchange(offsets_[slot], kNotReading);
  std::uint64_t kept = std::exchange(keeps_[slot], kNotReading);
  if (waiters_ != 0) changed_.notify_all();
  if (at != kNotReading) releaseUnread(kept > kMargin ? kept - kMargin : 0, at + kReportEvery);
}

std::uint64_t ReadTracker::stalls() const {
  std::lock_guard lock(mutex_);
  return stalls_;
}

// What the run keeps moved forward from `before` to `keep`.
void ReadTracker::release(std::uint64_t before, std::uint64_t keep) {
  // A run not far ahead of the slowest leaves its bytes for the slowest to release once it has
  // read them too: each page is mapped once, and what stays resident is bounded by kLead.
  std::uint64_t slowest = keep;
  for (std::uint64_t at : keeps_) slowest = std::min(slowest, at);
  if (slowest < keep && keep - slowest <= kLead) return;
  // What it left behind, less what it may still look back at (a retransmission's original).
  releaseUnread(before > kMargin ? before - kMargin : 0, keep > kMargin ? keep - kMargin : 0);
}

// Waits while run `slot` is more than the spread ahead of the slowest run that moves.
void ReadTracker::keepTogether(std::size_t slot, std::unique_lock<std::mutex>& lock) {
  for (;;) {
    std::size_t slowest = slot;
    for (std::size_t i = 0; i < offsets_.size(); ++i) {
      if (offsets_[i] != kNotReading && !stalled_[i] && offsets_[i] < offsets_[slowest])
        slowest = i;
    }
    const std::uint64_t seen = offsets_[slowest];
    if (slowest == slot || offsets_[slot] - seen <= options_.spread) return;
    ++waiters_;
    bool progressed = changed_.wait_for(lock, options_.patience, [&] {
      return offsets_[slowest] == kNotReading || offsets_[slowest] > seen;
    });
    --waiters_;
    if (!progressed) {
      stalled_[slowest] = true;
      ++stalls_;
    }
  }
}

// Releases [from, to) but for the windows of the runs still reading there.
void ReadTracker::releaseUnread(std::uint64_t from, std::uint64_t to) {
  if (from >= to) return;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> keep;
  for (std::size_t i = 0; i < offsets_.size(); ++i) {
    if (offsets_[i] != kNotReading)
      keep.emplace_back(keeps_[i] > kMargin ? keeps_[i] - kMargin : 0,
                        offsets_[i] + kReportEvery + kMargin);
  }
  std::sort(keep.begin(), keep.end());
  for (const auto& [start, end] : keep) {
    if (end <= from) continue;
    if (start >= to) break;
    if (start > from) capture_.release(from, start);
    from = std::max(from, end);
    if (from >= to) return;
  }
  capture_.release(from, to);
}

}  // namespace warden::experts
