// Average Server Response Time against tshark: every smb.time, smb2.time, dcerpc.time and dns.time
// tshark computes (with TCP desegmentation and out-of-order reassembly) is one of our pairs, with
// the same response frame and time, and for SMB, SMB2 and DNS we find no pair tshark does not.
// For DCE/RPC we also pair calls whose bind the capture missed (tshark then dissects them without
// timing them); each such pair must join a request and a response tshark shows with that call id.
// The TCP port rule (first server data after client data) is recomputed from tshark's segments.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "experts/builtin/builtin_testing.h"
#include "testsupport/oracle.h"

namespace warden::experts {
namespace {

namespace bt = builtin_testing;
using bt::column;

struct PairRow {
  std::int64_t request, response;
  double ms;
  std::uint64_t id;
};

std::map<std::string, std::vector<PairRow>> pairsOf(const RunResult& r) {
  std::map<std::string, std::vector<PairRow>> out;
  for (const Event& e : r.events) {
    if (e.id != 4) continue;
    out[std::string(column(e, "Protocol").text)].push_back(
        {column(e, "Request").integer, column(e, "Response").integer, column(e, "Time (ms)").real,
         static_cast<std::uint64_t>(column(e, "Id").real)});
  }
  return out;
}

using Times = std::multiset<std::pair<std::int64_t, std::int64_t>>;  // (response frame, µs)

// tshark's smb.time, smb2.time and dns.time values in one run: field -> times.
std::map<std::string, Times> tsharkTimes(const std::string& path) {
  const std::vector<std::string> fields = {"smb.time", "smb2.time", "dns.time"};
  std::map<std::string, Times> out;
  for (const auto& row :
       bt::tsharkRows(path,
                      "-o tcp.reassemble_out_of_order:TRUE -Y 'smb.time || smb2.time || dns.time' "
                      "-T fields -E occurrence=a -E aggregator=, -e frame.number -e smb.time -e "
                      "smb2.time -e dns.time")) {
    for (std::size_t i = 0; i < fields.size() && i + 1 < row.size(); ++i) {
      for (const auto& v : warden::testing::splitList(row[i + 1])) {
        out[fields[i]].insert({std::stoll(row[0]), std::llround(std::stod(v) * 1e6)});
      }
    }
  }
  return out;
}

Times ours(const std::vector<PairRow>& pairs) {
  Times out;
  for (const PairRow& p : pairs) out.insert({p.response, std::llround(p.ms * 1e3)});
  return out;
}

std::size_t expectLikeTshark(const std::string& path) {
  SCOPED_TRACE(path);
  RunResult r = bt::runBuiltin(path, "srt", "pairs=yes");
  EXPECT_TRUE(r.succeeded()) << r.message;
  EXPECT_EQ(r.reclaimed.blocks, 0u);
  auto pairs = pairsOf(r);
  std::size_t compared = 0;
  auto times = tsharkTimes(path);
  for (auto [protocol, field] : {std::pair{"SMB", "smb.time"}, std::pair{"SMB2", "smb2.time"},
                                 std::pair{"DNS", "dns.time"}}) {
    EXPECT_EQ(ours(pairs[protocol]), times[field]) << protocol;
    compared += times[field].size();
  }
  // DCE/RPC over TCP (not inside SMB named pipes, which are timed as SMB here): tshark's timed
  // calls are a subset of ours; the rest must be real call pairs. tshark's heuristic finds
  // DCE/RPC on ports other than 135 only when it runs first.
  auto mine = ours(pairs["DCE/RPC"]);
  std::map<std::int64_t, std::pair<std::string, std::string>> calls;  // frame -> (type, call id)
  for (const auto& row :
       bt::tsharkRows(path,
                      "-o tcp.reassemble_out_of_order:TRUE -o tcp.try_heuristic_first:TRUE -Y "
                      "'dcerpc && !smb && !smb2' -T fields -E occurrence=f -e frame.number -e "
                      "dcerpc.pkt_type -e dcerpc.cn_call_id -e dcerpc.time")) {
    if (row.size() < 3) continue;
    std::int64_t frame = std::stoll(row[0]);
    calls[frame] = {row[1], row[2]};
    if (row.size() > 3 && !row[3].empty()) {
      std::pair<std::int64_t, std::int64_t> t{frame, std::llround(std::stod(row[3]) * 1e6)};
      EXPECT_EQ(mine.count(t), 1u) << "tshark's dcerpc.time at frame " << frame;
      ++compared;
    }
  }
  for (const PairRow& p : pairs["DCE/RPC"]) {
    if (!calls.count(p.request) || !calls.count(p.response)) {
      ADD_FAILURE() << "DCE/RPC pair " << p.request << " -> " << p.response
                    << " is not two DCE/RPC frames for tshark";
      continue;
    }
    EXPECT_EQ(calls[p.request].first, "0") << "a request at frame " << p.request;
    EXPECT_NE(calls[p.response].first, "0");
    EXPECT_EQ(calls[p.request].second, std::to_string(p.id));
    EXPECT_EQ(calls[p.response].second, std::to_string(p.id));
  }
  // The summary rows add up the pairs.
  for (const Event& e : r.events) {
    if (e.id != 2) continue;
    const auto& list = pairs[std::string(column(e, "Protocol").text)];
    EXPECT_EQ(column(e, "Pairs").real, static_cast<double>(list.size()));
    double sum = 0;
    for (const PairRow& p : list) sum += p.ms;
    if (!list.empty()) {
      EXPECT_NEAR(column(e, "Avg (ms)").real, sum / static_cast<double>(list.size()), 1e-6);
    }
  }
  return compared;
}

TEST(ResponseTime, PairsLikeTsharkOnSharedCaptures) {
  if (!warden::testing::haveTool("tshark")) GTEST_SKIP() << "tshark not installed";
  auto captures = warden::testing::filesUnder(std::string(WARDEN_SHARED_DIR) + "/captures",
                                              {".pcap", ".pcapng"});
  if (captures.empty()) GTEST_SKIP() << "../shared/captures is absent";
  std::size_t compared = 0;
  for (const std::string& path : captures) compared += expectLikeTshark(path);
  EXPECT_GE(compared, 150u) << "SMB, SMB2, DCE/RPC and DNS pairs";
  RecordProperty("pairs_compared", static_cast<int>(compared));
}

// The port rule on traffic without loss: client data segments, then the server's first data.
TEST(ResponseTime, PortRuleOnRecordedHttpAndDns) {
  std::string why;
  const std::string& dir = bt::recordedDir(&why);
  if (dir.empty()) GTEST_SKIP() << why;
  EXPECT_GE(expectLikeTshark(dir + "/dns.pcap"), 3u);
  const std::string http = dir + "/http.pcap";
  RunResult r = bt::runBuiltin(http, "srt", "pairs=yes,ports=8000");
  ASSERT_TRUE(r.succeeded()) << r.message;
  std::set<std::pair<std::int64_t, std::int64_t>> mine;
  auto pairs = pairsOf(r);
  for (const PairRow& p : pairs["TCP"]) mine.insert({p.request, p.response});
  std::set<std::pair<std::int64_t, std::int64_t>> expected;
  std::map<std::string, std::int64_t> waiting;  // stream -> last client data frame
  for (const auto& row : bt::tsharkRows(http,
                                        "-Y 'tcp.len > 0' -T fields -e frame.number -e "
                                        "tcp.stream -e tcp.dstport")) {
    if (row.size() != 3) continue;
    std::int64_t frame = std::stoll(row[0]);
    if (row[2] == "8000") {
      waiting[row[1]] = frame;
    } else if (waiting.count(row[1])) {
      expected.insert({waiting[row[1]], frame});
      waiting.erase(row[1]);
    }
  }
  EXPECT_GE(expected.size(), 4u);
  EXPECT_EQ(mine, expected);
  RunResult bad = bt::runBuiltin(http, "srt", "ports=\"80,x\"");
  EXPECT_EQ(bad.outcome, Outcome::kFailed);
  EXPECT_NE(bad.message.find("ports must be"), std::string::npos) << bad.message;
}

}  // namespace
}  // namespace warden::experts
