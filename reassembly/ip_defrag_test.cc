// Defragmentation against tshark on every real capture here: each datagram tshark reassembles
// (ip/ipv6.reassembled.*) is completed by us in the same frame, from the same fragment frames,
// with the same bytes; and none that tshark does not. Then the policies, findings and limits on
// fragments made here.
#include "reassembly/ip_defrag.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "capture/capture.h"
#include "testsupport/oracle.h"

namespace warden::reassembly {
namespace {

struct Completed {
  std::size_t length = 0;
  std::string frames;  // "1,2,3", sorted
  std::string hex;
  bool operator==(const Completed&) const = default;
};

std::string sortedFrames(std::string list) {
  std::vector<std::uint64_t> numbers;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) numbers.push_back(std::stoull(item));
  }
  std::sort(numbers.begin(), numbers.end());
  numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
  std::string out;
  for (auto n : numbers) out += (out.empty() ? "" : ",") + std::to_string(n);
  return out;
}

// Runs our defragmenter over every frame and compares with tshark; returns how many datagrams.
std::size_t expectDatagramsMatchTshark(const std::string& path) {
  auto opened = capture::Capture::open(path);
  if (!opened.ok()) return 0;  // the capture tests cover unreadable files
  Defragmenter defrag;
  std::map<std::uint64_t, Completed> ours;
  decode::DecodedFrame d;
  for (std::size_t i = 0; i < opened->frameCount(); ++i) {
    capture::Frame f = opened->frame(i);
    decode::decodeFrame(f.bytes, f.linkType, f.wireLength, d);
    auto fragment = fragmentOf(f.bytes, d, f.number, f.timestampNs);
    if (!fragment) continue;
    if (auto datagram = defrag.add(*fragment)) {
      std::string frames;
      for (auto n : datagram->frames) frames += (frames.empty() ? "" : ",") + std::to_string(n);
      ours[f.number] = {datagram->payload.size(), sortedFrames(frames),
                        testing::hexString(datagram->payload)};
    }
  }
  auto tshark = testing::run(
      "tshark -n -r " + testing::shellQuote(path) +
      " -Y 'ip.reassembled.length or ipv6.reassembled.length' -T fields -E aggregator=,"
      " -e frame.number -e ip.reassembled.length -e ip.fragment -e ip.reassembled.data"
      " -e ipv6.reassembled.length -e ipv6.fragment -e ipv6.reassembled.data -e _ws.malformed");
  EXPECT_TRUE(tshark.ok()) << tshark.status().toString();
  if (!tshark.ok()) return 0;
  std::map<std::uint64_t, Completed> theirs;
  std::stringstream lines(tshark->out);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, '\t');) cells.push_back(cell);
    cells.resize(8);
    bool v6 = cells[1].empty();
    Completed c;
    c.length = std::stoul(v6 ? cells[4] : cells[1]);
    c.frames = sortedFrames(v6 ? cells[5] : cells[2]);
    c.hex = v6 ? cells[6] : cells[3];
    // A dissector exception in the completing frame (zeek's fragmented-1: a fragment reaching
    // past the datagram's end) cuts tshark's fragment list short; length and bytes still hold.
    if (!cells[7].empty()) c.frames.clear();
    theirs[std::stoull(cells[0])] = c;
  }
  EXPECT_EQ(ours.size(), theirs.size()) << path << ": datagrams completed, ours vs tshark";
  for (const auto& [frame, expected] : theirs) {
    if (!ours.count(frame)) {
      ADD_FAILURE() << path << ": tshark completes a datagram in frame " << frame;
      continue;
    }
    const Completed& got = ours[frame];
    EXPECT_EQ(got.length, expected.length) << "frame " << frame;
    if (!expected.frames.empty()) {
      EXPECT_EQ(got.frames, expected.frames) << "frame " << frame;
    }
    EXPECT_EQ(got.hex, expected.hex) << "frame " << frame;
  }
  return ours.size();
}

class DefragCapture : public ::testing::TestWithParam<std::string> {};

TEST_P(DefragCapture, DatagramsMatchTsharkReassembly) {
  if (!testing::haveTool("tshark")) GTEST_SKIP() << "tshark not installed";
  expectDatagramsMatchTshark(GetParam());
}

// Fragmented UDP and ICMP datagrams larger than the MTU, recorded here on loopback.
TEST(RecordedFragments, FragmentedTrafficMatchesTsharkReassembly) {
  if (!testing::haveTool("tshark") || !testing::haveTool("tcpdump")) {
    GTEST_SKIP() << "tshark/tcpdump not installed";
  }
  std::string dir = testing::makeTempDir("warden-defrag");
  Status recorded = testing::recordLoopback(dir);
  if (!recorded.ok()) GTEST_SKIP() << recorded.toString();
  EXPECT_GE(expectDatagramsMatchTshark(dir + "/frag.pcap"), 4u);
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Captures, DefragCapture, ::testing::ValuesIn(testing::realCaptures()),
                         [](const auto& info) { return testing::captureTestName(info.param); });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(DefragCapture);

// Fragments made here: three pieces of a 24-byte payload.
Fragment piece(std::vector<std::byte>& storage, std::uint32_t offset, std::size_t length, bool more,
               char fill, std::uint64_t frame, std::int64_t ns = 0) {
  storage.assign(length, std::byte(fill));
  Fragment f;
  f.src.family = f.dst.family = 4;
  f.src.bytes[0] = 10;
  f.dst.bytes[0] = 11;
  f.protocol = 17;
  f.id = 7;
  f.offset = offset;
  f.moreFragments = more;
  f.payload = storage;
  f.frame = frame;
  f.timestampNs = ns;
  return f;
}

TEST(Defragmenter, OutOfOrderFragmentsCompleteOnceCovered) {
  Defragmenter defrag;
  std::vector<std::byte> a, b, c;
  EXPECT_FALSE(defrag.add(piece(c, 16, 8, false, 'c', 3)));
  EXPECT_FALSE(defrag.add(piece(a, 0, 8, true, 'a', 1)));
  auto d = defrag.add(piece(b, 8, 8, true, 'b', 2));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->payload.size(), 24u);
  EXPECT_EQ(d->frames, (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(d->completedIn, 2u);
  EXPECT_EQ(static_cast<char>(d->payload[8]), 'b');
  EXPECT_EQ(defrag.pending(), 0u);
}

TEST(Defragmenter, OverlapPolicyDecidesAndConflictsAreFindings) {
  for (auto policy :
       {OverlapPolicy::kLowestOffset, OverlapPolicy::kFirstWins, OverlapPolicy::kLastWins}) {
    Defragmenter defrag({.policy = policy});
    std::vector<std::byte> a, b, c;
    EXPECT_FALSE(defrag.add(piece(a, 0, 16, true, 'a', 1)));
    EXPECT_FALSE(defrag.add(piece(b, 8, 8, true, 'b', 2)));  // overlaps a's second half
    auto d = defrag.add(piece(c, 16, 8, false, 'c', 3));
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->conflicting);
    EXPECT_EQ(static_cast<char>(d->payload[10]), policy == OverlapPolicy::kLastWins ? 'b' : 'a');
    ASSERT_EQ(defrag.findings().size(), 1u);
    EXPECT_EQ(defrag.findings()[0].kind, DefragFinding::Kind::kOverlapConflict);
    EXPECT_EQ(defrag.stats().conflicts, 1u);
  }
}

TEST(Defragmenter, LowestOffsetIsWiresharksOrderNotArrivals) {
  // A later fragment at a lower offset wins under kLowestOffset, loses under kFirstWins.
  for (auto policy : {OverlapPolicy::kLowestOffset, OverlapPolicy::kFirstWins}) {
    Defragmenter defrag({.policy = policy});
    std::vector<std::byte> a, b, c;
    EXPECT_FALSE(defrag.add(piece(a, 8, 8, true, 'a', 1)));
    EXPECT_FALSE(defrag.add(piece(b, 0, 16, true, 'b', 2)));
    auto d = defrag.add(piece(c, 16, 8, false, 'c', 3));
    ASSERT_TRUE(d);
    EXPECT_EQ(static_cast<char>(d->payload[8]), policy == OverlapPolicy::kLowestOffset ? 'b' : 'a');
  }
}

TEST(Defragmenter, IdleDatagramsTimeOut) {
  Defragmenter defrag({.timeoutNs = 1'000'000'000});
  std::vector<std::byte> a, b;
  EXPECT_FALSE(defrag.add(piece(a, 0, 8, true, 'a', 1, 0)));
  std::vector<std::byte> other;
  Fragment late = piece(other, 0, 8, true, 'x', 9, 5'000'000'000);
  late.id = 8;
  EXPECT_FALSE(defrag.add(late));
  EXPECT_EQ(defrag.stats().timedOut, 1u);
  EXPECT_EQ(defrag.findings().at(0).frame, 1u);
  EXPECT_FALSE(defrag.add(piece(b, 8, 8, false, 'b', 10, 5'000'000'001)));  // its start is gone
  EXPECT_EQ(defrag.pending(), 2u);
}

// A consumer holding frames until their datagram completes asks for the oldest waiting fragment,
// and times idle datagrams out as capture time passes without another fragment.
TEST(Defragmenter, TheOldestWaitingFragmentAndIdleExpiry) {
  Defragmenter defrag({.timeoutNs = 1'000'000'000});
  std::vector<std::byte> a, b, c;
  EXPECT_EQ(defrag.oldestFrame(), UINT64_MAX);
  EXPECT_FALSE(defrag.add(piece(c, 16, 8, false, 'c', 5, 0)));
  EXPECT_FALSE(defrag.add(piece(a, 0, 8, true, 'a', 6, 0)));
  EXPECT_EQ(defrag.oldestFrame(), 5u);
  defrag.expireIdle(1'000'000'000);  // idle exactly the timeout: kept
  EXPECT_EQ(defrag.pending(), 1u);
  defrag.expireIdle(1'000'000'001);
  EXPECT_EQ(defrag.pending(), 0u);
  EXPECT_EQ(defrag.stats().timedOut, 1u);
  EXPECT_EQ(defrag.oldestFrame(), UINT64_MAX);
}

TEST(Defragmenter, MemoryBudgetEvictsTheOldestDatagram) {
  Defragmenter defrag({.memoryBudget = 3000});
  std::vector<std::vector<std::byte>> storage(5);
  for (std::uint32_t id = 0; id < 5; ++id) {
    Fragment f = piece(storage[id], 0, 1000, true, 'z', id + 1);
    f.id = id;
    EXPECT_FALSE(defrag.add(f));
  }
  EXPECT_EQ(defrag.stats().evicted, 2u);
  EXPECT_EQ(defrag.pending(), 3u);
  EXPECT_LE(defrag.stats().peakBytes, 3000u);
  EXPECT_EQ(defrag.findings().front().kind, DefragFinding::Kind::kEvicted);
  EXPECT_EQ(defrag.findings().front().frame, 1u);
}

TEST(Defragmenter, HostileFragmentsAreDroppedNotBuffered) {
  Defragmenter defrag({.maxFragments = 4});
  std::vector<std::byte> big;
  EXPECT_FALSE(defrag.add(piece(big, 65000, 1000, false, 'x', 1)));  // past 65535
  EXPECT_EQ(defrag.findings().at(0).kind, DefragFinding::Kind::kOversize);
  std::vector<std::vector<std::byte>> storage(6);
  for (int i = 0; i < 6; ++i) (void)defrag.add(piece(storage[i], 8 * i, 8, true, 'y', 10 + i));
  EXPECT_EQ(defrag.stats().dropped, 2u);
  EXPECT_EQ(defrag.findings().back().kind, DefragFinding::Kind::kTooManyFragments);
}

}  // namespace
}  // namespace warden::reassembly
