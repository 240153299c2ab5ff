// PDU framing against tshark with TCP desegmentation on (and out-of-order reassembly): for every
// real capture and recorded HTTP downloads, the PDUs we complete, keyed by the frame that completes
// them, equal the NBSS messages (with their length), TCP-carried DCE/RPC fragments (frag_length),
// DNS-over-TCP messages and HTTP requests and responses tshark dissects in each frame. Then the
// mechanics on streams made here: chunked bodies, HEAD, 1xx, gaps and resynchronisation.
#include "reassembly/pdu_framer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "capture/capture.h"
#include "fmt/format.h"
#include "testsupport/oracle.h"

namespace warden::reassembly {
namespace {

// "protocol length" per completing frame, sorted, as one string per frame.
using PerFrame = std::map<std::uint64_t, std::multiset<std::string>>;

// Ours, without the PDUs found by resynchronising after a gap: tshark stops dissecting a
// direction's PDUs at its first missing segment.
PerFrame ours(const std::string& path, std::set<std::uint16_t>* dcerpcPorts,
              std::size_t* afterGap) {
  PerFrame out;
  auto opened = capture::Capture::open(path);
  if (!opened.ok()) return out;
  PduFramer framer([&](const Pdu& p) {
    if (!p.complete) return;
    if (p.afterGap) {
      ++*afterGap;
      return;
    }
    // The server side: the port binds and requests (packet types 11 and 0) go to.
    if (p.protocol == PduProtocol::kDcerpc && p.bytes.size() > 2 &&
        (p.bytes[2] == std::byte{0} || p.bytes[2] == std::byte{11}))
      dcerpcPorts->insert(p.to->port);
    std::string kind(pduProtocolName(p.protocol));
    std::uint64_t length = p.length;
    if (p.protocol == PduProtocol::kNbss) length -= 4;
    if (p.protocol == PduProtocol::kDnsTcp) length -= 2;
    if (p.protocol == PduProtocol::kHttpRequest || p.protocol == PduProtocol::kHttpResponse)
      length = 0;  // compared by count
    out[p.completedIn].insert(kind + " " + std::to_string(length));
  });
  TcpReassembler tcp([&](const Delivery& d) { framer.add(d); });
  decode::DecodedFrame decoded;
  for (std::size_t i = 0; i < opened->frameCount(); ++i) {
    capture::Frame f = opened->frame(i);
    decode::decodeFrame(f.bytes, f.linkType, f.wireLength, decoded);
    if (auto segment = tcpSegmentOf(f.bytes, decoded, f.number)) tcp.add(*segment);
  }
  tcp.finish();
  framer.finish();
  return out;
}

// `dcerpcPorts`: where we found DCE/RPC; tshark by port knows only 135 and the ports an
// endpoint-mapper answer in the capture names.
PerFrame theirs(const std::string& path, const std::set<std::uint16_t>& dcerpcPorts) {
  PerFrame out;
  // tshark's DCE/RPC heuristic finds DCE/RPC on other ports only when it runs first.
  std::string decodeAs = dcerpcPorts.empty() ? "" : " -o tcp.try_heuristic_first:TRUE";
  auto r = testing::run(
      "tshark -n -r " + testing::shellQuote(path) + decodeAs +
      " -o tcp.reassemble_out_of_order:TRUE -Y 'tcp && (nbss || dcerpc || dns || http)'"
      " -T fields -E occurrence=a -E aggregator=, -E separator=/t -e frame.number -e nbss.length"
      " -e dcerpc.cn_frag_len -e dns.id -e http.request.method -e http.response.code -e smb"
      " -e smb2");
  EXPECT_TRUE(r.ok());
  if (!r.ok()) return out;
  std::stringstream lines(r->out);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string c; std::getline(row, c, '\t');) cells.push_back(c);
    cells.resize(8);
    std::uint64_t frame = std::stoull(cells[0]);
    bool inSmb = !cells[6].empty() || !cells[7].empty();
    for (const auto& v : testing::splitList(cells[1])) out[frame].insert("nbss " + v);
    // DCE/RPC inside SMB named pipes is SMB's payload, not a TCP PDU.
    if (!inSmb && testing::splitList(cells[1]).empty()) {
      for (const auto& v : testing::splitList(cells[2])) out[frame].insert("dcerpc " + v);
    }
    for (std::size_t i = 0; i < testing::splitList(cells[3]).size(); ++i)
      out[frame].insert("dns 0");
    for (std::size_t i = 0; i < testing::splitList(cells[4]).size(); ++i)
      out[frame].insert("http request 0");
    for (std::size_t i = 0; i < testing::splitList(cells[5]).size(); ++i)
      out[frame].insert("http response 0");
  }
  return out;
}

// Returns how many PDUs were compared.
std::size_t expectLikeTshark(const std::string& path) {
  SCOPED_TRACE(path);
  std::set<std::uint16_t> ports;
  std::size_t afterGap = 0;
  PerFrame a = ours(path, &ports, &afterGap), b = theirs(path, ports);
  ::testing::Test::RecordProperty("after_gap", static_cast<int>(afterGap));
  std::size_t differences = 0;
  for (auto& [frame, pdus] : a) {
    if (b.count(frame) && b[frame] == pdus) continue;
    if (++differences > 10) break;
    std::string mine, tshark;
    for (auto& p : pdus) mine += "[" + p + "]";
    for (auto& p : b[frame]) tshark += "[" + p + "]";
    ADD_FAILURE() << "frame " << frame << ": ours " << mine << ", tshark " << tshark;
  }
  for (auto& [frame, pdus] : b) {
    if (a.count(frame) || pdus.empty() || ++differences > 10) continue;
    std::string tshark;
    for (auto& p : pdus) tshark += "[" + p + "]";
    ADD_FAILURE() << "frame " << frame << ": ours none, tshark " << tshark;
  }
  std::size_t compared = 0;
  for (const auto& [frame, pdus] : b) compared += pdus.size();
  return compared;
}

TEST(PduFramer, MatchesTsharkDesegmentationOnSharedCaptures) {
  if (!testing::haveTool("tshark")) GTEST_SKIP() << "tshark not installed";
  auto captures =
      testing::filesUnder(std::string(WARDEN_SHARED_DIR) + "/captures", {".pcap", ".pcapng"});
  if (captures.empty()) GTEST_SKIP() << "../shared/captures is absent";
  std::size_t compared = 0;
  for (const std::string& path : captures) compared += expectLikeTshark(path);
  EXPECT_GT(compared, 700u);
  RecordProperty("pdus", static_cast<int>(compared));
}

TEST(PduFramer, MatchesTsharkDesegmentationOnRecordedDownloads) {
  if (!testing::haveTool("tshark") || !testing::haveTool("tcpdump")) {
    GTEST_SKIP() << "tshark/tcpdump not installed";
  }
  std::string dir = testing::makeTempDir("warden-framer");
  Status recorded = testing::recordLoopback(dir, {"http", "lossy"});
  if (!recorded.ok()) GTEST_SKIP() << recorded.toString();
  EXPECT_GE(expectLikeTshark(dir + "/http.pcap"), 10u);
  EXPECT_GE(expectLikeTshark(dir + "/lossy.pcap"), 8u);
  std::filesystem::remove_all(dir);
}

// Streams made here: one direction's bytes handed over as deliveries, client -> server port 80.
struct Framed {
  std::vector<Pdu> pdus;
  std::vector<std::string> bodies;
  TcpEndpoint client{{}, 40000}, server{{}, 80};
  PduFramer framer{[this](const Pdu& p) {
                     pdus.push_back(p);
                     bodies.emplace_back(reinterpret_cast<const char*>(p.bytes.data()),
                                         p.bytes.size());
                   },
                   FramerOptions{.keepBytes = 1 << 16}};
  std::uint64_t offsets[2] = {0, 0};
  std::uint64_t frame = 0;
  void send(int dir, std::string_view text, std::uint64_t skip = 0) {
    offsets[dir] += skip;
    Delivery d{0,
               dir,
               offsets[dir],
               {reinterpret_cast<const std::byte*>(text.data()), text.size()},
               ++frame,
               frame,
               dir == 0 ? &client : &server,
               dir == 0 ? &server : &client};
    framer.add(d);
    offsets[dir] += text.size();
  }
};

TEST(PduFramer, HttpBodiesByLengthChunksHeadAndInterimResponses) {
  Framed f;
  f.send(0, "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel");
  f.send(0, "loHEAD /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n");
  f.send(1, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  f.send(1, "HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n");  // answers HEAD: no body
  f.send(1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
  f.send(1, "0\r\nX-Trailer: 1\r\n\r\n");
  f.framer.finish();
  ASSERT_EQ(f.pdus.size(), 7u);
  EXPECT_EQ(f.bodies[0], "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(f.pdus[0].frames.size(), 2u);
  EXPECT_EQ(f.bodies[1], "HEAD /b HTTP/1.1\r\n\r\n");
  EXPECT_EQ(f.bodies[2], "GET /c HTTP/1.1\r\n\r\n");
  EXPECT_EQ(f.bodies[3], "HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_EQ(f.bodies[4], "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_EQ(f.bodies[5], "HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n");
  EXPECT_EQ(f.bodies[6],
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer: "
            "1\r\n\r\n");
  for (const Pdu& p : f.pdus) EXPECT_TRUE(p.complete);
  EXPECT_EQ(f.framer.stats().pdus, 7u);
}

TEST(PduFramer, AGapCutsOnePduAndFramingResumesAtTheNextStart) {
  Framed f;
  f.server.port = 445;
  auto nbss = [](std::string_view body) {
    std::string out = {'\0', '\0', static_cast<char>(body.size() >> 8),
                       static_cast<char>(body.size() & 0xff)};
    return out + std::string(body);
  };
  std::string smb1 = nbss("\xffSMB" + std::string(28, 'a'));
  std::string smb2 = nbss("\xfeSMB" + std::string(60, 'b'));
  f.send(0, smb1);
  f.send(0, smb2.substr(0, 20));
  f.send(0, "junk that follows the hole", 10);  // 10 bytes lost, then the rest of smb2
  f.send(0, smb1);                              // a new PDU starts at this delivery
  f.framer.finish();
  ASSERT_EQ(f.pdus.size(), 3u);
  EXPECT_TRUE(f.pdus[0].complete);
  EXPECT_EQ(f.pdus[0].length, smb1.size());
  EXPECT_FALSE(f.pdus[1].complete) << "cut by the gap";
  EXPECT_EQ(f.pdus[1].length, 20u);
  EXPECT_TRUE(f.pdus[2].complete);
  EXPECT_TRUE(f.pdus[2].afterGap);
  EXPECT_EQ(f.framer.stats().resyncs, 1u);
  EXPECT_EQ(f.framer.stats().incomplete, 1u);
}

// What a consumer that holds frames until their PDU is decided waits for: the lowest frame of each
// open PDU no longer than the limit, by its bytes so far or by the length its header announced.
TEST(PduFramer, TheOldestOpenFrameIsThatOfAnOpenPduWithinTheLimit) {
  Framed f;
  EXPECT_EQ(f.framer.oldestOpenFrame(100), UINT64_MAX);
  f.send(0, "POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\nhel");  // frame 1
  f.send(1, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");    // frame 2
  EXPECT_EQ(f.framer.oldestOpenFrame(100), 1u) << "the response announced 1000 bytes";
  EXPECT_EQ(f.framer.oldestOpenFrame(2000), 1u);
  f.send(0, "lo, wor");  // frame 3 ends the request
  EXPECT_EQ(f.framer.oldestOpenFrame(100), UINT64_MAX);
  EXPECT_EQ(f.framer.oldestOpenFrame(2000), 2u);
  EXPECT_EQ(f.framer.oldestOpenFrame(10), UINT64_MAX) << "its header alone is longer than 10";
}

TEST(PduFramer, HostileLengthsNeitherHangNorAllocate) {
  Framed f;
  f.server.port = 445;
  // An NBSS length of 128 KiB with 10 bytes behind it, a DCE/RPC frag_length below its header.
  f.send(0, std::string("\0\x01\xff\xff\xffSMBxxxxxx", 14));
  f.framer.finish();
  ASSERT_EQ(f.pdus.size(), 1u);
  EXPECT_FALSE(f.pdus[0].complete);
  EXPECT_EQ(f.pdus[0].length, 14u);
  Framed g;
  g.server.port = 135;
  g.send(0, std::string("\x05\x00\x00\x03\x10\x00\x00\x00\x08\x00", 10));
  g.framer.finish();
  EXPECT_TRUE(g.pdus.empty()) << "frag_length 8 is not DCE/RPC: the direction stays unframed";
}

}  // namespace
}  // namespace warden::reassembly
