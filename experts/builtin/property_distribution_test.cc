// Property Distribution against tshark: for each field, the frames carrying it, the instance
// count, min/max/mean and the count of every value equal aggregates of `tshark -T fields` over
// the same frames (frame-local: no reassembly). Warden's field table holds the first header of
// each protocol, so tshark's instances from headers quoted in ICMP errors or tunnelled inside
// another are left out of the comparison (the first one, or two for *.addr / *.port).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "experts/builtin/builtin_testing.h"
#include "testsupport/oracle.h"

namespace warden::experts {
namespace {

namespace bt = builtin_testing;
using bt::column;

const std::vector<std::string> kFields = {"tcp.window_size_value",
                                          "ip.ttl",
                                          "ip.proto",
                                          "eth.src",
                                          "ip.addr",
                                          "ipv6.addr",
                                          "tcp.port",
                                          "udp.port",
                                          "tcp.flags.syn",
                                          "tcp.len",
                                          "dns.qry.name",
                                          "dns.id",
                                          "http.request.method",
                                          "eth.type",
                                          "frame.len"};

struct Aggregate {
  std::uint64_t frames = 0, instances = 0;
  std::map<std::string, std::uint64_t> values;
};

std::map<std::string, Aggregate> tsharkAggregates(const std::string& path) {
  std::string arguments =
      "-o ip.defragment:FALSE -o ipv6.defragment:FALSE -o tcp.desegment_tcp_streams:FALSE "
      "-T fields -E occurrence=a -E aggregator=, -E separator=/t";
  for (const std::string& f : kFields) arguments += " -e " + f;
  std::map<std::string, Aggregate> out;
  for (const auto& row : bt::tsharkRows(path, arguments)) {
    for (std::size_t i = 0; i < kFields.size() && i < row.size(); ++i) {
      if (row[i].empty()) continue;
      Aggregate& a = out[kFields[i]];
      ++a.frames;
      std::size_t keep = kFields[i].ends_with(".addr") || kFields[i].ends_with(".port") ? 2 : 1;
      std::stringstream cells(row[i]);
      std::string value;
      for (std::size_t n = 0; n < keep && std::getline(cells, value, ','); ++n) {
        ++a.instances;
        ++a.values[value];
      }
    }
  }
  return out;
}

void expectLikeTshark(const std::string& path) {
  SCOPED_TRACE(path);
  auto expected = tsharkAggregates(path);
  for (const std::string& field : kFields) {
    SCOPED_TRACE(field);
    RunResult r = bt::runBuiltin(path, "propdist", "field=" + field + ",top=0");
    ASSERT_TRUE(r.succeeded()) << r.message;
    EXPECT_EQ(r.reclaimed.blocks, 0u) << "it frees its value table";
    const Aggregate& want = expected[field];
    Aggregate got;
    std::uint64_t on = 0, off = 0;
    bool flagRow = false;
    for (const Event& e : r.events) {
      if (e.id == 1) {
        got.frames = static_cast<std::uint64_t>(column(e, "Frames").real);
        got.instances = static_cast<std::uint64_t>(column(e, "Instances").real);
        EXPECT_EQ(column(e, "Distinct values").real, static_cast<double>(want.values.size()));
      } else if (e.id == 2) {
        got.values[std::string(column(e, "Value").text)] =
            static_cast<std::uint64_t>(column(e, "Instances").real);
      } else if (e.id == 3) {
        flagRow = true;
        on = static_cast<std::uint64_t>(column(e, "On").real);
        off = static_cast<std::uint64_t>(column(e, "Off").real);
      }
    }
    EXPECT_EQ(got.frames, want.frames);
    EXPECT_EQ(got.instances, want.instances);
    EXPECT_EQ(got.values, want.values);
    if (field == "tcp.flags.syn" && want.instances) {
      EXPECT_TRUE(flagRow);
      EXPECT_EQ(on, want.values.count("1") ? want.values.at("1") : 0);
      EXPECT_EQ(off, want.values.count("0") ? want.values.at("0") : 0);
    }
    // Numbers: min, max and mean over the instances.
    bool numeric = field == "ip.ttl" || field == "tcp.len" || field == "frame.len" ||
                   field == "tcp.window_size_value" || field == "tcp.port";
    if (numeric && want.instances) {
      double min = 1e300, max = -1, sum = 0;
      for (const auto& [v, n] : want.values) {
        double x = std::stod(v);
        min = std::min(min, x);
        max = std::max(max, x);
        sum += x * static_cast<double>(n);
      }
      const Event& summary = r.events.at(0);
      EXPECT_EQ(column(summary, "Min").real, min);
      EXPECT_EQ(column(summary, "Max").real, max);
      EXPECT_NEAR(column(summary, "Mean").real, sum / static_cast<double>(want.instances), 1e-6);
    }
  }
}

TEST(PropertyDistribution, CountsLikeTsharkOnSharedCaptures) {
  if (!warden::testing::haveTool("tshark")) GTEST_SKIP() << "tshark not installed";
  auto captures = warden::testing::filesUnder(std::string(WARDEN_SHARED_DIR) + "/captures",
                                              {".pcap", ".pcapng"});
  if (captures.empty()) GTEST_SKIP() << "../shared/captures is absent";
  for (const std::string& path : captures) expectLikeTshark(path);
}

TEST(PropertyDistribution, CountsLikeTsharkOnRecordedTraffic) {
  std::string why;
  const std::string& dir = bt::recordedDir(&why);
  if (dir.empty()) GTEST_SKIP() << why;
  for (const char* name : {"http.pcap", "frag.pcap", "dns.pcap"})
    expectLikeTshark(dir + "/" + name);
}

TEST(PropertyDistribution, TopRowsFocusedFieldAndBadFields) {
  std::string path = std::string(WARDEN_SHARED_DIR) + "/captures/zeek_http_bro.org.pcap";
  if (!warden::testing::haveTool("tshark")) GTEST_SKIP() << "tshark not installed";
  RunResult r = bt::runBuiltin(path, "propdist", "field=tcp.window_size_value,top=3");
  ASSERT_TRUE(r.succeeded()) << r.message;
  std::vector<const Event*> rows;
  for (const Event& e : r.events) {
    if (e.id == 2) rows.push_back(&e);
  }
  ASSERT_EQ(rows.size(), 4u) << "three values and the rest";
  EXPECT_EQ(column(*rows[3], "Value").text, "(other values)");
  double total = 0;
  for (const Event* e : rows) total += column(*e, "Instances").real;
  EXPECT_EQ(total, column(r.events.at(0), "Instances").real) << "nothing lost in the rest row";
  EXPECT_GE(column(*rows[0], "Instances").real, column(*rows[1], "Instances").real);

  RunResult bad = bt::runBuiltin(path, "propdist", "field=tcp.nonsense");
  EXPECT_EQ(bad.outcome, Outcome::kFailed);
  EXPECT_NE(bad.message.find("tcp.nonsense"), std::string::npos) << bad.message;
  RunResult protocol = bt::runBuiltin(path, "propdist", "field=tcp");  // filters accept it
  EXPECT_EQ(protocol.outcome, Outcome::kFailed);
  EXPECT_NE(protocol.message.find("field tcp: not a field with values"), std::string::npos)
      << protocol.message;
  RunResult badTop = bt::runBuiltin(path, "propdist", "top=-1");
  EXPECT_EQ(badTop.outcome, Outcome::kFailed);
  RunResult byDefault = bt::runBuiltin(path, "propdist", "");
  ASSERT_TRUE(byDefault.succeeded()) << byDefault.message;
  EXPECT_EQ(column(byDefault.events.at(0), "Field").text, "tcp.window_size_value");
}

}  // namespace
}  // namespace warden::experts
