// Test support for the decode tests: compare every frame's fields with tshark's.
#include "decode/tshark_fields.h"

#include <gtest/gtest.h>

#include <sstream>

#include "capture/capture.h"
#include "decode/decoder.h"
#include "decode/fields.h"
#include "testsupport/oracle.h"

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

}  // namespace

void expectFieldsMatchTshark(const std::string& path) {
  Result<capture::Capture> c = capture::Capture::open(path);
  if (!c.ok()) GTEST_SKIP() << "unreadable capture (the capture tests cover why)";
  std::vector<std::vector<std::string>> expected = tsharkRows(path);
  ASSERT_EQ(expected.size(), c->frameCount()) << path;
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

}  // namespace warden::decode
