// Protocol Distribution against tshark's frame.protocols (frame-local: no desegmentation or
// defragmentation). For every protocol Warden decodes as tshark does, the frames and bytes whose
// stack holds it are equal on every shared capture and on recorded traffic. Two labels differ by
// design and are compared by their own rule: tshark (with desegmentation off) calls every TCP
// payload on an HTTP port "http" where Warden says "http" only for a request or status line, so
// our http count equals tshark's frames with http.request or http.response; and tshark follows
// DCE/RPC into SMB named pipes, so our dcerpc count equals its frames with dcerpc and no smb/smb2.
// SMB inside NetBIOS datagrams (UDP 138) is not decoded here: only SMB over NBSS is compared.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "experts/builtin/builtin_testing.h"
#include "testsupport/oracle.h"

namespace warden::experts {
namespace {

namespace bt = builtin_testing;
using bt::column;

struct Count {
  std::uint64_t frames = 0, bytes = 0;
  bool operator==(const Count&) const = default;
};

const std::set<std::string> kSameLabels = {"eth", "arp",  "ip",     "ipv6",  "tcp",
                                           "udp", "icmp", "icmpv6", "dns",   "nbss",
                                           "smb", "smb2", "vlan",   "nflog", "sll"};

std::map<std::string, Count> tsharkStacks(const std::string& path) {
  std::map<std::string, Count> out;
  for (const auto& row : bt::tsharkRows(
           path,
           "-o tcp.desegment_tcp_streams:FALSE -o ip.defragment:FALSE -o ipv6.defragment:FALSE "
           "-o tcp.try_heuristic_first:TRUE -T fields -E occurrence=f -e frame.len "
           "-e frame.protocols -e http.request -e http.response")) {
    if (row.size() < 2) continue;
    std::uint64_t len = std::stoull(row[0]);
    std::set<std::string> stack;
    std::stringstream in(row[1]);
    for (std::string p; std::getline(in, p, ':');) stack.insert(p);
    for (const std::string& p : stack) {
      if (!kSameLabels.count(p)) continue;
      // SMB in NetBIOS datagrams (UDP 138, browser announcements) is not decoded here.
      if (p == "smb" && !stack.count("nbss")) continue;
      out[p].frames += 1;
      out[p].bytes += len;
    }
    bool httpMessage = (row.size() > 2 && !row[2].empty()) || (row.size() > 3 && !row[3].empty());
    if (stack.count("http") && httpMessage) {
      out["http"].frames += 1;
      out["http"].bytes += len;
    }
    if (stack.count("dcerpc") && !stack.count("smb") && !stack.count("smb2")) {
      out["dcerpc"].frames += 1;
      out["dcerpc"].bytes += len;
    }
  }
  return out;
}

std::size_t expectLikeTshark(const std::string& path) {
  SCOPED_TRACE(path);
  RunResult r = bt::runBuiltin(path, "protdist", "");
  EXPECT_TRUE(r.succeeded()) << r.message;
  EXPECT_EQ(r.reclaimed.blocks, 0u);
  std::map<std::string, Count> stack, highest;
  for (const Event& e : r.events) {
    Count c{static_cast<std::uint64_t>(column(e, "Frames").integer),
            static_cast<std::uint64_t>(column(e, "Bytes").real)};
    (e.id == 1 ? stack : highest)[std::string(column(e, "Protocol").text)] = c;
  }
  auto expected = tsharkStacks(path);
  std::map<std::string, Count> compared;
  for (const auto& [protocol, c] : stack) {
    if (kSameLabels.count(protocol) || protocol == "http" || protocol == "dcerpc")
      compared[protocol] = c;
  }
  EXPECT_EQ(compared, expected);
  // The highest-protocol view partitions the frames: every frame once, and never more frames
  // for a protocol than its stack count.
  std::uint64_t frames = 0;
  for (const auto& [protocol, c] : highest) {
    frames += c.frames;
    EXPECT_LE(c.frames, stack[protocol].frames) << protocol;
  }
  EXPECT_EQ(frames, r.framesRead);
  return expected.size();
}

TEST(ProtocolDistribution, StacksCountLikeTsharkOnSharedCaptures) {
  if (!warden::testing::haveTool("tshark")) GTEST_SKIP() << "tshark not installed";
  auto captures = warden::testing::filesUnder(std::string(WARDEN_SHARED_DIR) + "/captures",
                                              {".pcap", ".pcapng"});
  if (captures.empty()) GTEST_SKIP() << "../shared/captures is absent";
  std::size_t protocols = 0;
  for (const std::string& path : captures) protocols += expectLikeTshark(path);
  EXPECT_GE(protocols, 100u);
}

TEST(ProtocolDistribution, StacksCountLikeTsharkOnRecordedTraffic) {
  std::string why;
  const std::string& dir = bt::recordedDir(&why);
  if (dir.empty()) GTEST_SKIP() << why;
  for (const char* name : {"http.pcap", "frag.pcap", "dns.pcap", "lossy.pcap"})
    expectLikeTshark(dir + "/" + name);
}

}  // namespace
}  // namespace warden::experts
