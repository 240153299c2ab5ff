// The built-in experts against tshark on the shared captures, run through a Session exactly as
// `warden run` runs them.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "experts/builtin/builtin_testing.h"
#include "experts/builtin/builtins.h"
#include "experts/session.h"
#include "testsupport/oracle.h"

namespace warden::experts {
namespace {

struct Counts {
  std::uint64_t frames = 0, bytes = 0;
  bool operator==(const Counts&) const = default;
};

using builtin_testing::runBuiltin;

class SharedCapture : public ::testing::TestWithParam<std::string> {};

// Every sender's and receiver's frames and bytes equal tshark's per-address sums of frame.len
// (what "-z endpoints" reports as Tx and Rx), for MAC and IPv4 addresses.
TEST_P(SharedCapture, TopUsersCountLikeTsharkEndpoints) {
  if (!testing::haveTool("tshark")) GTEST_SKIP() << "tshark not installed";
  for (auto [kind, src, dst] :
       {std::tuple{"mac", "eth.src", "eth.dst"}, std::tuple{"ipv4", "ip.src", "ip.dst"},
        std::tuple{"ipv6", "ipv6.src", "ipv6.dst"}}) {
    RunResult r = runBuiltin(GetParam(), "topusers", fmt::format("address={},top=100000", kind));
    ASSERT_TRUE(r.succeeded()) << r.message;
    EXPECT_EQ(r.reclaimed.blocks, 0u) << "it frees its tables";
    std::map<std::string, Counts> sent, received;
    for (const Event& e : r.events) {
      if (e.id == 3) continue;
      Counts c{static_cast<std::uint64_t>(e.columns.at(2).value.real),
               static_cast<std::uint64_t>(e.columns.at(3).value.real)};
      (e.id == 1 ? sent : received)[e.columns.at(1).value.toString()] = c;
    }
    auto tshark =
        testing::run("tshark -n -r " + testing::shellQuote(GetParam()) +
                     " -T fields -E occurrence=f -e " + src + " -e " + dst + " -e frame.len");
    ASSERT_TRUE(tshark.ok());
    std::map<std::string, Counts> tsent, treceived;
    std::stringstream lines(tshark->out);
    for (std::string line; std::getline(lines, line);) {
      std::stringstream row(line);
      std::string s, d, len;
      std::getline(row, s, '\t');
      std::getline(row, d, '\t');
      std::getline(row, len, '\t');
      if (s.empty() || d.empty()) continue;
      tsent[s].frames += 1;
      tsent[s].bytes += std::stoull(len);
      treceived[d].frames += 1;
      treceived[d].bytes += std::stoull(len);
    }
    EXPECT_EQ(sent.size(), tsent.size()) << kind;
    for (const auto& [address, c] : tsent) {
      EXPECT_EQ(sent[address], c) << kind << " sender " << address;
    }
    for (const auto& [address, c] : treceived) {
      EXPECT_EQ(received[address], c) << kind << " receiver " << address;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shared, SharedCapture,
                         ::testing::ValuesIn(testing::filesUnder(
                             std::string(WARDEN_SHARED_DIR) + "/captures", {".pcap", ".pcapng"})),
                         [](const auto& info) { return testing::captureTestName(info.param); });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SharedCapture);

TEST(TopUsers, RanksByBytesOrFramesAndRefusesBadOptions) {
  std::string path = std::string(WARDEN_SHARED_DIR) + "/captures/zeek_http_bro.org.pcap";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent";
  RunResult r = runBuiltin(path, "topusers", "address=ipv4,top=2,sort=frames");
  ASSERT_TRUE(r.succeeded()) << r.message;
  std::map<std::uint32_t, int> perId;
  for (const Event& e : r.events) ++perId[e.id];
  EXPECT_LE(perId[1], 2);
  EXPECT_LE(perId[3], 2);
  for (std::size_t i = 1; i < r.events.size(); ++i) {
    if (r.events[i].id == r.events[i - 1].id && r.events[i].id != 3) {
      EXPECT_GE(r.events[i - 1].columns[2].value.real, r.events[i].columns[2].value.real);
    }
  }
  RunResult bad = runBuiltin(path, "topusers", "address=ipx");
  EXPECT_EQ(bad.outcome, Outcome::kFailed);
  EXPECT_NE(bad.message.find("address must be"), std::string::npos) << bad.message;
}

}  // namespace
}  // namespace warden::experts
