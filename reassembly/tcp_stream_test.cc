// TCP reassembly against tshark's "follow,tcp,raw" on every real capture here and on HTTP the
// test records on loopback: for every stream, each direction's delivered bytes equal tshark's
// (no byte lost or duplicated). Then the mechanics on segments made here: out of order, gaps,
// conflicts, data after FIN, mid-stream starts, budgets.
#include "reassembly/tcp_stream.h"

#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "capture/capture.h"
#include "testsupport/oracle.h"

namespace warden::reassembly {
namespace {

std::string endpoint(const decode::Address& a, std::uint16_t port) {
  return a.family == 6 ? "[" + a.toString() + "]:" + std::to_string(port)
                       : a.toString() + ":" + std::to_string(port);
}

// "client -> server" -> hex of the bytes that direction carried.
using Directions = std::map<std::string, std::string>;

std::size_t expectStreamsMatchTshark(const std::string& path) {
  auto opened = capture::Capture::open(path);
  if (!opened.ok()) return 0;
  std::map<std::uint64_t, std::array<std::string, 2>> names;  // stream -> source of each direction
  std::map<std::pair<std::uint64_t, int>, std::string> data;
  TcpReassembler tcp([&](const Delivery& d) {
    data[{d.stream, d.direction}] += testing::hexString(d.bytes);
  });
  decode::DecodedFrame decoded;
  for (std::size_t i = 0; i < opened->frameCount(); ++i) {
    capture::Frame f = opened->frame(i);
    decode::decodeFrame(f.bytes, f.linkType, f.wireLength, decoded);
    auto segment = tcpSegmentOf(f.bytes, decoded, f.number);
    if (!segment) continue;
    segment->stable = i % 2 == 0;  // the mapped capture outlives `tcp`: both ways of holding
    std::size_t before = tcp.stats().streams;
    tcp.add(*segment);
    if (tcp.stats().streams != before) {
      names[before] = {endpoint(segment->src, segment->srcPort) + " -> " +
                           endpoint(segment->dst, segment->dstPort),
                       endpoint(segment->dst, segment->dstPort) + " -> " +
                           endpoint(segment->src, segment->srcPort)};
    }
  }
  tcp.finish();
  Directions ours;
  for (const auto& [key, hex] : data) ours[names[key.first][key.second]] = hex;

  auto followed = testing::tsharkFollowTcp(path);
  EXPECT_TRUE(followed.ok()) << followed.status().toString();
  if (!followed.ok()) return 0;
  if (followed->streams == 0) {
    EXPECT_TRUE(ours.empty());
    return 0;
  }
  const Directions& theirs = followed->directions;
  // Where bytes were never captured, tshark writes a marker into the stream; we skip the hole
  // (and report it as a gap finding).
  std::size_t markers = followed->missingMarkers;
  std::size_t compared = 0;
  for (const auto& [direction, hex] : theirs) {
    auto it = ours.find(direction);
    if (it == ours.end()) {
      ADD_FAILURE() << path << ": tshark has " << hex.size() / 2 << " bytes " << direction
                    << ", we delivered none";
      continue;
    }
    ++compared;
    EXPECT_EQ(it->second.size(), hex.size()) << path << " " << direction << " (hex digits)";
    if (it->second != hex) {
      std::size_t at = 0;
      while (at < hex.size() && at < it->second.size() && hex[at] == it->second[at]) ++at;
      ADD_FAILURE() << path << " " << direction << ": bytes differ from offset " << at / 2;
    }
  }
  for (const auto& [direction, hex] : ours) {
    if (!theirs.count(direction)) {
      ADD_FAILURE() << path << ": we delivered " << hex.size() / 2 << " bytes " << direction
                    << ", tshark none";
    }
  }
  EXPECT_EQ(tcp.stats().gaps, markers) << path << ": gaps, ours vs tshark's missing-bytes markers";
  return compared;
}

class StreamCapture : public ::testing::TestWithParam<std::string> {};

TEST_P(StreamCapture, StreamsMatchTsharkFollow) {
  if (!testing::haveTool("tshark")) GTEST_SKIP() << "tshark not installed";
  expectStreamsMatchTshark(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Shared, StreamCapture,
                         ::testing::ValuesIn(testing::filesUnder(
                             std::string(WARDEN_SHARED_DIR) + "/captures", {".pcap", ".pcapng"})),
                         [](const auto& info) { return testing::captureTestName(info.param); });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StreamCapture);

TEST(RecordedStreams, HttpDownloadsMatchTsharkFollow) {
  if (!testing::haveTool("tshark") || !testing::haveTool("tcpdump")) {
    GTEST_SKIP() << "tshark/tcpdump not installed";
  }
  std::string dir = testing::makeTempDir("warden-tcp");
  Status recorded = testing::recordLoopback(dir);
  if (!recorded.ok()) GTEST_SKIP() << recorded.toString();
  EXPECT_GE(expectStreamsMatchTshark(dir + "/http.pcap"), 8u);
  std::filesystem::remove_all(dir);
}

// Segments made here, client 10.0.0.1:1000 -> server 10.0.0.2:80.
struct Made {
  std::vector<std::vector<std::byte>> storage;
  TcpSegment segment(std::uint32_t seq, std::string_view text, std::uint16_t flags,
                     std::uint64_t frame) {
    storage.emplace_back(reinterpret_cast<const std::byte*>(text.data()),
                         reinterpret_cast<const std::byte*>(text.data()) + text.size());
    TcpSegment s;
    s.src.family = s.dst.family = 4;
    s.src.bytes[3] = 1;
    s.dst.bytes[3] = 2;
    s.srcPort = 1000;
    s.dstPort = 80;
    s.seq = seq;
    s.flags = flags;
    s.payload = storage.back();
    s.frame = frame;
    return s;
  }
};

struct Collected {
  std::string text;
  TcpReassembler::Sink sink() {
    return [this](const Delivery& d) {
      text.append(reinterpret_cast<const char*>(d.bytes.data()), d.bytes.size());
    };
  }
};

TEST(TcpReassembler, OutOfOrderSegmentsAreDeliveredInOrderAcrossSequenceWrap) {
  Collected out;
  TcpReassembler tcp(out.sink());
  Made m;
  std::uint32_t isn = 0xfffffff0;  // the data wraps past 2^32
  tcp.add(m.segment(isn, "", 0x02, 1));
  tcp.add(m.segment(isn + 1 + 10, "klmnopqrst", 0x10, 3));
  tcp.add(m.segment(isn + 1 + 20, "uvwxyz", 0x11, 4));
  EXPECT_EQ(out.text, "");
  tcp.add(m.segment(isn + 1, "abcdefghij", 0x10, 2));
  EXPECT_EQ(out.text, "abcdefghijklmnopqrstuvwxyz");
  tcp.add(m.segment(isn + 1 + 26, "late", 0x10, 5));
  ASSERT_EQ(tcp.findings().back().kind, TcpFinding::Kind::kDataAfterFin);
  EXPECT_EQ(tcp.findings().back().frame, 5u);
  EXPECT_EQ(tcp.stats().gaps, 0u);
}

TEST(TcpReassembler, GapsAreReportedAndSkippedNotStalled) {
  Collected out;
  TcpReassembler tcp(out.sink());
  Made m;
  tcp.add(m.segment(1000, "abc", 0x10, 1));  // no SYN: mid-stream
  tcp.add(m.segment(1010, "klm", 0x10, 2));  // 7 bytes never seen
  EXPECT_EQ(out.text, "abc");
  tcp.finish();
  EXPECT_EQ(out.text, "abcklm");
  EXPECT_EQ(tcp.stats().gaps, 1u);
  EXPECT_EQ(tcp.stats().gapBytes, 7u);
  EXPECT_EQ(tcp.findings().front().kind, TcpFinding::Kind::kMidStream);
  EXPECT_EQ(tcp.findings().back().kind, TcpFinding::Kind::kGap);
  EXPECT_EQ(tcp.findings().back().offset, 3u);
}

// The receiver acknowledging bytes the capture never showed had them: they will not be sent again,
// so the hole is a gap as soon as it says so, not when the capture ends. An ack short of the
// waiting bytes leaves them waiting: what lies between may still come.
TEST(TcpReassembler, AnAckPastAHoleSkipsItAtOnce) {
  Collected out;
  TcpReassembler tcp(out.sink());
  Made m;
  auto ack = [&](std::uint32_t number, std::uint64_t frame) {
    TcpSegment s = m.segment(500, "", 0x10, frame);
    std::swap(s.src, s.dst);
    std::swap(s.srcPort, s.dstPort);
    s.ack = number;
    return s;
  };
  tcp.add(m.segment(0, "", 0x02, 1));
  tcp.add(m.segment(1, "abc", 0x10, 2));
  tcp.add(m.segment(11, "klm", 0x10, 3));  // offsets 3..9 never captured
  EXPECT_EQ(tcp.oldestHeldFrame(), 3u);
  tcp.add(ack(4, 4));  // up to the hole
  tcp.add(ack(8, 5));  // into it, short of the waiting bytes
  EXPECT_EQ(out.text, "abc");
  EXPECT_EQ(tcp.oldestHeldFrame(), 3u);
  tcp.add(ack(14, 6));
  EXPECT_EQ(out.text, "abcklm");
  EXPECT_EQ(tcp.oldestHeldFrame(), UINT64_MAX);
  ASSERT_EQ(tcp.stats().gaps, 1u);
  EXPECT_EQ(tcp.findings().back().kind, TcpFinding::Kind::kGap);
  EXPECT_EQ(tcp.findings().back().frame, 6u);
  EXPECT_EQ(tcp.findings().back().offset, 3u);
  EXPECT_EQ(tcp.findings().back().length, 7u);
}

// The oldest frame still waiting follows pieces as they arrive, are replaced and are delivered.
TEST(TcpReassembler, TheOldestHeldFrameFollowsTheWaitingPieces) {
  Collected out;
  TcpReassembler tcp(out.sink());
  Made m;
  tcp.add(m.segment(0, "", 0x02, 1));
  EXPECT_EQ(tcp.oldestHeldFrame(), UINT64_MAX);
  tcp.add(m.segment(21, "uvw", 0x10, 2));
  tcp.add(m.segment(11, "klm", 0x10, 3));
  tcp.add(m.segment(11, "klmnop", 0x10, 4));  // the same start, longer: replaces frame 3
  EXPECT_EQ(tcp.oldestHeldFrame(), 2u);
  tcp.add(m.segment(1, "abcdefghij", 0x10, 5));  // fills up to frame 4's piece
  EXPECT_EQ(out.text, "abcdefghijklmnop");
  EXPECT_EQ(tcp.oldestHeldFrame(), 2u);
  tcp.add(m.segment(17, "qrst", 0x10, 6));
  EXPECT_EQ(out.text, "abcdefghijklmnopqrstuvw");
  EXPECT_EQ(tcp.oldestHeldFrame(), UINT64_MAX);
}

TEST(TcpReassembler, RetransmissionsWithDifferentBytesAreConflicts) {
  Collected out;
  TcpReassembler tcp(out.sink());
  Made m;
  tcp.add(m.segment(0, "", 0x02, 1));
  tcp.add(m.segment(1, "hello", 0x10, 2));
  tcp.add(m.segment(1, "hello", 0x10, 3));  // a plain retransmission
  tcp.add(m.segment(1, "jelly", 0x10, 4));  // different bytes
  EXPECT_EQ(out.text, "hello");
  EXPECT_EQ(tcp.stats().retransmissions, 2u);
  ASSERT_EQ(tcp.stats().conflicts, 1u);
  EXPECT_EQ(tcp.findings().back().frame, 4u);
  EXPECT_EQ(tcp.findings().back().length, 2u);  // h/j and o/y
}

TEST(TcpReassembler, StreamBudgetFlushesPastTheHole) {
  Collected out;
  TcpReassembler tcp(out.sink(), {.streamBudget = 8});
  Made m;
  tcp.add(m.segment(0, "", 0x02, 1));
  tcp.add(m.segment(11, "abcde", 0x10, 2));  // waits behind bytes 0..9
  tcp.add(m.segment(16, "fghij", 0x10, 3));  // 10 waiting > 8: flushed
  EXPECT_EQ(out.text, "abcdefghij");
  EXPECT_EQ(tcp.stats().evictions, 1u);
  EXPECT_EQ(tcp.stats().gapBytes, 10u);
}

TEST(TcpReassembler, GlobalBudgetNeverHoldsMore) {
  Collected out;
  TcpReassembler tcp(out.sink(), {.globalBudget = 64});
  Made m;
  std::string chunk(40, 'x');
  tcp.add(m.segment(0, "", 0x02, 1));
  tcp.add(m.segment(101, chunk, 0x10, 2));
  tcp.add(m.segment(201, chunk, 0x10, 3));  // no room: the direction gives up its hole
  EXPECT_EQ(out.text.size(), 80u);
  EXPECT_LE(tcp.stats().peakBuffered, 64u);
  EXPECT_EQ(tcp.stats().evictions, 1u);
}

// Segments whose bytes outlive the reassembler wait by reference; the budgets are the same.
TEST(TcpReassembler, StableSegmentsWaitByReferenceUnderTheSameBudgets) {
  for (bool stable : {false, true}) {
    SCOPED_TRACE(stable ? "stable" : "copied");
    Collected out;
    TcpReassembler tcp(out.sink(), {.globalBudget = 64});
    Made m;
    std::string chunk(40, 'x');
    auto add = [&](TcpSegment s) {
      s.stable = stable;
      tcp.add(s);
    };
    add(m.segment(0, "", 0x02, 1));
    add(m.segment(41, chunk, 0x10, 2));  // waits behind bytes 0..39
    EXPECT_EQ(tcp.stats().peakBuffered, 40u);
    add(m.segment(1, std::string(40, 'y'), 0x10, 3));  // fills the hole: both delivered
    EXPECT_EQ(out.text, std::string(40, 'y') + chunk);
    add(m.segment(101, chunk, 0x10, 4));
    add(m.segment(201, chunk, 0x10, 5));  // 80 > 64: the direction gives up its hole
    EXPECT_EQ(out.text.size(), 160u);
    EXPECT_LE(tcp.stats().peakBuffered, 64u);
    EXPECT_EQ(tcp.stats().evictions, 1u);
    tcp.finish();
  }
}

}  // namespace
}  // namespace warden::reassembly
