// Filters: parse errors that name the column, the semantics of each operator, and both filter
// languages against the real tools on the shared captures (tshark -Y for display filters,
// tcpdump for capture filters).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <set>
#include <sstream>

#include "capture/capture.h"
#include "decode/bpf_filter.h"
#include "decode/decoder.h"
#include "decode/display_filter.h"
#include "testsupport/oracle.h"

namespace warden::decode {
namespace {

using ::testing::HasSubstr;

TEST(DisplayFilter, ParseErrorsNameTheColumn) {
  struct Case {
    std::string text, message;
  };
  for (const Case& c : {
           Case{"ip.srcx == 1.2.3.4", "at column 1: unknown field or protocol 'ip.srcx'"},
           Case{"tcp.port ==", "at column 12: expected a value for 'tcp.port'"},
           Case{"ip.src == 1.2.3", "at column 11: '1.2.3' is not an IPv4 address"},
           Case{"ip.src == 10.0.0.0/33", "is not an address with a valid prefix length"},
           Case{"ipv6.src == 10.0.0.1", "is not an IPv6 address"},
           Case{"tcp.port == 80 &&", "expected a field name at the end"},
           Case{"(tcp.port == 80", "at column 16: expected ')'"},
           Case{"tcp.port == 80)", "at column 15: unexpected ')'"},
           Case{"dns.qry.name == \"abc", "unterminated string"},
           Case{"ip.src < 10.0.0.1", "'ip.src' cannot be ordered"},
           Case{"tcp.port == 0x1g", "'0x1g' is not a number"},
           Case{"eth.src == 00:11:22", "is not a MAC address"},
       }) {
    Result<DisplayFilter> f = DisplayFilter::parse(c.text);
    ASSERT_FALSE(f.ok()) << c.text;
    EXPECT_EQ(f.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(f.status().message(), HasSubstr(c.message)) << c.text;
  }
}

TEST(DisplayFilter, DepthAndLengthAreBounded) {
  std::string deep(100, '(');
  deep += "tcp" + std::string(100, ')');
  EXPECT_THAT(DisplayFilter::parse(deep).status().message(), HasSubstr("nested deeper than 64"));
  std::string nots(100, '!');
  EXPECT_THAT(DisplayFilter::parse(nots + "tcp").status().message(), HasSubstr("nested deeper"));
  std::string longText(5000, ' ');
  EXPECT_EQ(DisplayFilter::parse(longText + "tcp").status().code(), Code::kLimitExceeded);
}

DecodedFrame tcpFrame() {
  // IPv4 10.0.0.1:54321 -> 10.0.0.2:80, ACK|PSH, 4 payload bytes. Static: the decoded frame keeps
  // views into the bytes (the HTTP method).
  static const unsigned char bytes[] = {
      0x45, 0,  0, 44, 0, 1, 0x40, 0, 64, 6, 0,    0,    10,   0, 0, 1, 10, 0, 0,   2,   0xd4, 0x31,
      0,    80, 0, 0,  0, 1, 0,    0, 0,  2, 0x50, 0x18, 0x10, 0, 0, 0, 0,  0, 'G', 'E', 'T',  ' '};
  DecodedFrame d;
  decodeFrame(std::as_bytes(std::span(bytes)), 228, sizeof bytes, d);
  return d;
}

bool matches(const std::string& text, const DecodedFrame& d) {
  Result<DisplayFilter> f = DisplayFilter::parse(text);
  EXPECT_TRUE(f.ok()) << text << ": " << f.status().toString();
  return f.ok() && f->matches(d);
}

TEST(DisplayFilter, CopiesAreIndependentOfTheOriginal) {
  DecodedFrame d = tcpFrame();
  std::optional<DisplayFilter> copy;
  {
    Result<DisplayFilter> original = DisplayFilter::parse("http.request.method == \"GET\"");
    ASSERT_TRUE(original.ok());
    copy = *original;
  }
  EXPECT_TRUE(copy->matches(d));
}

TEST(DisplayFilter, OperatorsFollowWiresharkSemantics) {
  DecodedFrame d = tcpFrame();
  EXPECT_TRUE(matches("tcp", d));
  EXPECT_TRUE(matches("ip and tcp and http", d));
  EXPECT_FALSE(matches("udp", d));
  EXPECT_TRUE(matches("tcp.port == 80", d)) << "any value: the destination port";
  EXPECT_TRUE(matches("tcp.port == 54321", d));
  EXPECT_FALSE(matches("tcp.port != 80", d)) << "!= holds only when no value equals";
  EXPECT_TRUE(matches("tcp.port != 443", d));
  EXPECT_FALSE(matches("udp.port != 53", d)) << "an absent field matches no comparison";
  EXPECT_TRUE(matches("ip.addr == 10.0.0.0/8", d));
  EXPECT_TRUE(matches("ip.dst == 10.0.0.2 && !(ip.src == 10.0.0.2)", d));
  EXPECT_TRUE(matches("tcp.len == 4 and tcp.len > 3 and tcp.len >= 4 and tcp.len < 5", d));
  EXPECT_TRUE(matches("tcp.flags == 0x018 && tcp.flags.push == true && tcp.flags.syn == 0", d));
  EXPECT_TRUE(matches("http.request.method == \"GET\"", d));
  EXPECT_TRUE(matches("ip.id eq 1 or not tcp", d));
  EXPECT_FALSE(matches("ip.ttl gt 64", d));
  EXPECT_TRUE(matches("ip.ttl ge 64", d));
}

// ---- Against the real tools --------------------------------------------------------------

std::vector<std::string> sharedCaptures() {
  return testing::filesUnder(std::string(WARDEN_SHARED_DIR) + "/captures", {".pcap", ".pcapng"});
}

const std::vector<std::string> kDisplayFilters = {
    "tcp.port == 80",
    "ip.src == 192.168.0.0/16 && tcp.flags.syn == 1",
    "udp && !(udp.port == 53)",
    "tcp.len > 0 and tcp.window_size_value < 30000",
    "dns.qry.name",
    "http.request.method == \"GET\"",
    "ipv6.addr == 2001:470::/32 or icmp.type == 8",
    "ip.ttl >= 64 && ip.flags.df == 0",
    "tcp.port != 80 && tcp",
};

std::set<std::uint64_t> ourMatches(const capture::Capture& c, const DisplayFilter& filter) {
  std::set<std::uint64_t> numbers;
  DecodedFrame d;
  for (std::size_t i = 0; i < c.frameCount(); ++i) {
    capture::Frame f = c.frame(i);
    decodeFrame(f.bytes, f.linkType, f.wireLength, d);
    if (filter.matches(d)) numbers.insert(f.number);
  }
  return numbers;
}

// One test per expression, so CTest runs them in parallel (each is 28 tshark runs).
class TsharkDisplayFilter : public ::testing::TestWithParam<std::string> {};

TEST_P(TsharkDisplayFilter, SelectsTheFramesTsharkSelects) {
  std::vector<std::string> files = sharedCaptures();
  if (files.empty() || !testing::haveTool("tshark")) GTEST_SKIP() << "no shared captures or tshark";
  const std::string& expression = GetParam();
  Result<DisplayFilter> filter = DisplayFilter::parse(expression);
  ASSERT_TRUE(filter.ok()) << filter.status().toString();
  for (const std::string& path : files) {
    Result<capture::Capture> c = capture::Capture::open(path);
    ASSERT_TRUE(c.ok());
    Result<testing::CommandResult> r = testing::run(
        "tshark -n -r " + testing::shellQuote(path) +
        " -o ip.defragment:FALSE -o ipv6.defragment:FALSE -o tcp.desegment_tcp_streams:FALSE"
        " -Y " +
        testing::shellQuote(expression) + " -T fields -e frame.number");
    ASSERT_TRUE(r.ok());
    std::set<std::uint64_t> expected;
    std::istringstream lines(r->out);
    for (std::string line; std::getline(lines, line);) expected.insert(std::stoull(line));
    EXPECT_EQ(ourMatches(*c, *filter), expected) << expression << " on " << path;
  }
}

INSTANTIATE_TEST_SUITE_P(Expressions, TsharkDisplayFilter, ::testing::ValuesIn(kDisplayFilters),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return "expression" + std::to_string(info.index);
                         });

const std::vector<std::string> kCaptureFilters = {
    "tcp port 80",  "udp and not port 53",        "ip6", "tcp[tcpflags] & tcp-syn != 0",
    "greater 1000", "net 192.168.0.0/16 and tcp",
};

TEST(BpfFilter, SelectsTheFramesTcpdumpSelects) {
  std::vector<std::string> files = sharedCaptures();
  if (files.empty() || !testing::haveTool("tcpdump"))
    GTEST_SKIP() << "no shared captures or tcpdump";
  for (const std::string& path : files) {
    Result<capture::Capture> c = capture::Capture::open(path);
    ASSERT_TRUE(c.ok());
    bool oneLinkType = true;
    for (const auto& iface : c->interfaces()) {
      oneLinkType = oneLinkType && iface.linkType == c->interfaces()[0].linkType;
    }
    if (!oneLinkType || c->interfaces().empty()) continue;  // tcpdump reads one link type
    for (const std::string& expression : kCaptureFilters) {
      Result<BpfFilter> filter = BpfFilter::compile(expression, c->interfaces()[0].linkType);
      if (!filter.ok()) continue;  // e.g. not meaningful for this link type
      std::vector<std::string> ours;
      for (std::size_t i = 0; i < c->frameCount(); ++i) {
        capture::Frame f = c->frame(i);
        if (filter->matches(f.bytes, f.wireLength)) {
          ours.push_back(fmt::format("{}.{:06d}", f.timestampNs / 1'000'000'000,
                                     (f.timestampNs % 1'000'000'000) / 1000));
        }
      }
      Result<testing::CommandResult> r =
          testing::run("tcpdump -n -tt -r " + testing::shellQuote(path) + " " +
                       testing::shellQuote(expression) + " | cut -d' ' -f1");
      ASSERT_TRUE(r.ok());
      std::vector<std::string> expected;
      std::istringstream lines(r->out);
      for (std::string line; std::getline(lines, line);) expected.push_back(line);
      EXPECT_EQ(ours, expected) << expression << " on " << path;
    }
  }
}

TEST(BpfFilter, CompileErrorsCarryLibpcapsMessage) {
  Result<BpfFilter> f = BpfFilter::compile("tcp prot 80", 1);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(
      f.status().message(),
      HasSubstr("capture filter 'tcp prot 80': can't parse filter expression: syntax error"));
}

}  // namespace
}  // namespace warden::decode
