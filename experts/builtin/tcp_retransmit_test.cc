// TCP Retransmit against tshark's sequence analysis: the frames it lists and their kind equal
// `tshark -Y tcp.analysis.retransmission` (with ..fast_retransmission / ..spurious_retransmission)
// on every real capture and on loopback downloads that lost real segments in a small tbf queue.
#include <gtest/gtest.h>

#include <map>

#include "experts/builtin/builtin_testing.h"
#include "testsupport/oracle.h"

namespace warden::experts {
namespace {

using builtin_testing::column;
namespace bt = builtin_testing;

// frame -> kind ("retransmission", "fast retransmission", "spurious retransmission").
std::map<std::int64_t, std::string> tsharkRetransmissions(const std::string& path) {
  std::map<std::int64_t, std::string> out;
  for (const auto& row : bt::tsharkRows(
           path,
           "-Y tcp.analysis.retransmission -T fields -e frame.number "
           "-e tcp.analysis.fast_retransmission -e tcp.analysis.spurious_retransmission")) {
    if (row.empty() || row[0].empty()) continue;
    bool fast = row.size() > 1 && !row[1].empty();
    bool spurious = row.size() > 2 && !row[2].empty();
    out[std::stoll(row[0])] = fast       ? "fast retransmission"
                              : spurious ? "spurious retransmission"
                                         : "retransmission";
  }
  return out;
}

std::map<std::int64_t, std::string> ours(const RunResult& r) {
  std::map<std::int64_t, std::string> out;
  for (const Event& e : r.events) {
    if (e.id == 1) out[column(e, "Frame").integer] = column(e, "Kind").text;
  }
  return out;
}

// Runs the expert and compares with tshark; returns the run.
RunResult expectLikeTshark(const std::string& path,
                           const std::map<std::int64_t, std::string>& expected) {
  SCOPED_TRACE(path);
  RunResult r = bt::runBuiltin(path, "tcpretrans", "");
  EXPECT_TRUE(r.succeeded()) << r.message;
  EXPECT_EQ(r.reclaimed.blocks, 0u) << "it frees its connection table";
  EXPECT_EQ(ours(r), expected);
  return r;
}

TEST(TcpRetransmit, ListsWhatTsharkListsOnEveryRealCapture) {
  if (!warden::testing::haveTool("tshark")) GTEST_SKIP() << "tshark not installed";
  std::size_t withRetransmissions = 0;
  for (const std::string& path : warden::testing::realCaptures()) {
    auto expected = tsharkRetransmissions(path);
    RunResult r = expectLikeTshark(path, expected);
    withRetransmissions += !expected.empty();
    if (path.ends_with("/cs_tcp_retransmissions.pcapng")) {
      // Five timeouts resending frame 1's 648 bytes, with growing delays.
      ASSERT_EQ(expected.size(), 5u);
      double lastDelay = 0;
      for (const Event& e : r.events) {
        if (e.id != 1) continue;
        EXPECT_EQ(column(e, "Original").integer, 1);
        EXPECT_TRUE(column(e, "Original seen").integer);
        EXPECT_EQ(column(e, "Length").integer, 648);
        EXPECT_GT(column(e, "Delay (ms)").real, lastDelay);
        lastDelay = column(e, "Delay (ms)").real;
      }
    }
  }
  RecordProperty("captures_with_retransmissions", static_cast<int>(withRetransmissions));
}

TEST(TcpRetransmit, ListsWhatTsharkListsOnRecordedLoss) {
  std::string why;
  const std::string& dir = bt::recordedDir(&why);
  if (dir.empty()) GTEST_SKIP() << why;
  const std::string lossy = dir + "/lossy.pcap";
  auto expected = tsharkRetransmissions(lossy);
  EXPECT_GE(expected.size(), 20u) << "the tbf queue should have dropped segments";
  expectLikeTshark(lossy, expected);
  expectLikeTshark(dir + "/http.pcap", tsharkRetransmissions(dir + "/http.pcap"));

  // Each retransmission names an earlier frame of the same direction that carried its first
  // sequence number, and the summary adds up.
  RunResult r = bt::runBuiltin(lossy, "tcpretrans", "");
  std::map<std::int64_t, std::vector<std::string>> frames;
  for (auto& row : bt::tsharkRows(lossy,
                                  "-T fields -e frame.number -e tcp.srcport -e tcp.dstport "
                                  "-e tcp.seq -e tcp.len -e tcp.flags.syn -e tcp.flags.fin")) {
    if (row.size() == 7) frames[std::stoll(row[0])] = row;
  }
  std::size_t listed = 0, seen = 0;
  for (const Event& e : r.events) {
    if (e.id == 3) {
      EXPECT_EQ(column(e, "Retransmitted").real, static_cast<double>(listed));
      EXPECT_EQ(column(e, "Retransmitted").real, static_cast<double>(expected.size()));
    }
    if (e.id != 1) continue;
    ++listed;
    std::int64_t frame = column(e, "Frame").integer, original = column(e, "Original").integer;
    SCOPED_TRACE(frame);
    ASSERT_LT(original, frame);
    const auto& o = frames.at(original);
    const auto& f = frames.at(frame);
    EXPECT_EQ(o[1], f[1]);
    EXPECT_EQ(o[2], f[2]);
    double seq = column(e, "Seq").real;
    EXPECT_EQ(seq, std::stod(f[3])) << "relative sequence numbers as tshark shows them";
    double start = std::stod(o[3]);
    double end = start + std::stod(o[4]) + (o[5] == "1" || o[6] == "1");
    if (column(e, "Original seen").integer) {
      ++seen;
      EXPECT_LE(start, seq);
      EXPECT_LT(seq, end);
    } else {
      EXPECT_GT(end, seq) << "the original was never captured: the frame that went past it";
    }
    EXPECT_GE(column(e, "Delay (ms)").real, 0.0);
  }
  // tbf drops before the capture point on loopback: the originals of these were never captured.
  RecordProperty("originals_seen", static_cast<int>(seen));
}

}  // namespace
}  // namespace warden::experts
