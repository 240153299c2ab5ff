// The decoder and field table against tshark, frame by frame, on every real capture here: every
// field tshark prints for a frame (first occurrence, frame-local: no reassembly, raw sequence
// numbers) must be what our field table gives, and fields tshark leaves empty must be absent here.
#include "testsupport/oracle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "capture/capture.h"
#include "decode/decoder.h"
#include "decode/fields.h"

namespace warden::decode {
namespace {

const std::vector<std::string> kCompared = {
    "frame.len",
    "eth.src",
    "eth.dst",
    "ip.src",
    "ip.dst",
    "ip.proto",
    "ip.ttl",
    "ip.id",
    "ipv6.src",
    "ipv6.dst",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.seq",
    "tcp.len",
    "tcp.window_size_value",
    "tcp.options.mss_val",
    "udp.srcport",
    "udp.dstport",
    "udp.length",
    "icmp.type",
    "dns.id",
    "dns.qry.name",
    "http.request.method",
};

std::vector<std::vector<std::string>> tsharkRows(const std::string& path) {
  std::string command =
      "tshark -n -r " + testing::shellQuote(path) +
      " -o tcp.relative_sequence_numbers:FALSE -o ip.defragment:FALSE -o ipv6.defragment:FALSE"
      " -o tcp.desegment_tcp_streams:FALSE -T fields -E occurrence=f -E separator=/t"
      " -e frame.encap_type";
  for (const std::string& f : kCompared) command += " -e " + f;
  Result<testing::CommandResult> r = testing::run(command);
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(r.ok() ? r->out : "");
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (;;) {
      std::size_t tab = line.find('\t', start);
      fields.push_back(
          line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    if (fields.empty() || fields[0].empty()) continue;  // pcapng records that are not packets
    fields.erase(fields.begin());
    fields.resize(kCompared.size());
    rows.push_back(std::move(fields));
  }
  return rows;
}

std::string ours(const DecodedFrame& frame, const std::string& name) {
  const FieldDef* def = findField(name);
  if (def == nullptr) return "<no such field>";
  FieldValue values[2];
  return def->get(frame, values) > 0 ? values[0].toString() : "";
}

class SharedCapture : public ::testing::TestWithParam<std::string> {};

TEST_P(SharedCapture, FieldsMatchTsharkFrameByFrame) {
  if (!testing::haveTool("tshark")) GTEST_SKIP() << "tshark not installed";
  const std::string& path = GetParam();
  Result<capture::Capture> c = capture::Capture::open(path);
  if (!c.ok()) GTEST_SKIP() << "unreadable capture (the capture tests cover why)";
  std::vector<std::vector<std::string>> expected = tsharkRows(path);
  ASSERT_EQ(expected.size(), c->frameCount());
  DecodedFrame decoded;
  int mismatches = 0;
  for (std::size_t i = 0; i < c->frameCount() && mismatches < 10; ++i) {
    capture::Frame f = c->frame(i);
    decodeFrame(f.bytes, f.linkType, f.wireLength, decoded);
    for (std::size_t k = 0; k < kCompared.size(); ++k) {
      std::string mine = ours(decoded, kCompared[k]);
      if (mine != expected[i][k]) {
        ADD_FAILURE() << path << " frame " << f.number << " " << kCompared[k] << ": tshark '"
                      << expected[i][k] << "', warden '" << mine << "' (" << decoded.protocols()
                      << ")";
        ++mismatches;
      }
    }
  }
}

// The shared captures, and those Debian packages ship (gopacket, dpkt: PPPoE, truncated DNS).
std::vector<std::string> sharedCaptures() { return testing::realCaptures(); }

std::string testName(const ::testing::TestParamInfo<std::string>& info) {
  std::filesystem::path p(info.param);
  std::string name = p.parent_path().filename().string() + "_" + p.filename().string();
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Shared, SharedCapture, ::testing::ValuesIn(sharedCaptures()), testName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SharedCapture);

}  // namespace
}  // namespace warden::decode
