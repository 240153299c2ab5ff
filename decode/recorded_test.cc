// Captures this test records itself: real traffic on loopback in a private network namespace
// (HTTP from several addresses and over IPv6, fragmented UDP and ICMP with ICMP errors, DNS). Each
// must read as capinfos and tshark read it, frame by frame and field by field. Needs root, as CI
// has; skipped with the reason otherwise.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "capture/capture.h"
#include "decode/decoder.h"
#include "decode/tshark_fields.h"
#include "testsupport/oracle.h"

namespace warden::decode {
namespace {

class Recorded : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::haveTool("tcpdump") || !testing::haveTool("tshark")) {
      why_ = "tcpdump/tshark not installed";
      return;
    }
    dir_ = testing::makeTempDir("warden-recorded");
    Status recorded = testing::recordLoopback(dir_);
    if (!recorded.ok()) why_ = recorded.toString();
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  void SetUp() override {
    if (!why_.empty()) GTEST_SKIP() << why_;
  }
  static std::string path(const std::string& name) { return dir_ + "/" + name; }

  static inline std::string dir_;
  static inline std::string why_;
};

void expectReadsLikeCapinfosAndTshark(const std::string& path) {
  testing::CapinfosCount count = testing::capinfosCount(path);
  ASSERT_FALSE(count.error) << path;
  Result<capture::Capture> c = capture::Capture::open(path, {.strict = true});
  ASSERT_TRUE(c.ok()) << c.status().toString();
  ASSERT_EQ(c->frameCount(), count.packets);
  std::vector<testing::TsharkFrame> expected = testing::tsharkFrames(path);
  ASSERT_EQ(expected.size(), c->frameCount());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    capture::Frame f = c->frame(i);
    ASSERT_EQ(f.timestampNs, expected[i].timestampNs) << "frame " << f.number;
    ASSERT_EQ(f.wireLength, expected[i].wireLength) << "frame " << f.number;
    ASSERT_EQ(f.capturedLength, expected[i].capturedLength) << "frame " << f.number;
  }
  expectFieldsMatchTshark(path);
}

// Calls f(frame, decoded) for every frame of a capture.
template <typename F>
void forEachDecoded(const std::string& path, F&& f) {
  Result<capture::Capture> c = capture::Capture::open(path);
  ASSERT_TRUE(c.ok()) << c.status().toString();
  DecodedFrame d;
  for (std::size_t i = 0; i < c->frameCount(); ++i) {
    capture::Frame frame = c->frame(i);
    decodeFrame(frame.bytes, frame.linkType, frame.wireLength, d);
    f(frame, d);
  }
}

TEST_F(Recorded, HttpFromSeveralAddressesAndIpv6) {
  expectReadsLikeCapinfosAndTshark(path("http.pcap"));
  // The recording holds what the test meant to record.
  std::set<std::string> clients;
  std::size_t ipv6 = 0, gets = 0, fullSegments = 0;
  forEachDecoded(path("http.pcap"), [&](const capture::Frame& f, const DecodedFrame& d) {
    if (d.tcp.dstPort == 8000) clients.insert(d.ipSrc().toString());
    ipv6 += d.ipVersion == 6;
    gets += d.httpMethod == "GET";
    fullSegments += f.wireLength == 1514;
  });
  EXPECT_THAT(clients, ::testing::IsSupersetOf({"127.0.0.2", "127.0.0.3", "127.0.0.4", "::1"}));
  EXPECT_GT(ipv6, 0u);
  EXPECT_GE(gets, 4u);
  EXPECT_GT(fullSegments, 100u) << "offloads off: segments are real 1500-byte ones";
}

TEST_F(Recorded, FragmentsAndIcmpErrors) {
  expectReadsLikeCapinfosAndTshark(path("frag.pcap"));
  std::size_t v4Fragments = 0, v6Fragments = 0, quoted = 0;
  forEachDecoded(path("frag.pcap"), [&](const capture::Frame&, const DecodedFrame& d) {
    v4Fragments += d.ipVersion == 4 && d.ipFragment();
    v6Fragments += d.ipVersion == 6 && d.ipFragment();
    quoted += (d.icmp.present || d.icmpv6.present) && d.udp.present;
  });
  EXPECT_GE(v4Fragments, 6u);
  EXPECT_GE(v6Fragments, 6u);
  EXPECT_GE(quoted, 1u) << "an ICMP port-unreachable quoting the UDP datagram";
}

TEST_F(Recorded, DnsQueriesAndAnswers) {
  expectReadsLikeCapinfosAndTshark(path("dns.pcap"));
  std::set<std::string> names;
  forEachDecoded(path("dns.pcap"), [&](const capture::Frame&, const DecodedFrame& d) {
    names.insert(std::string(d.dnsQueryName()));
  });
  EXPECT_EQ(names,
            (std::set<std::string>{"warden.example", "www.example.org", "a.b.c.example.net"}));
}

}  // namespace
}  // namespace warden::decode
