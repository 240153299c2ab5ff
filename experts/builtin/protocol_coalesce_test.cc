// Protocol Coalesce against tshark, on every shared capture and on traffic recorded here: the new
// file's TCP streams carry exactly the bytes of the original's (`follow,tcp,raw`, both
// directions), every datagram tshark reassembles from fragments is one frame whose payload equals
// `ip(v6).reassembled.data`, coalesced frames are well-formed for tshark (no malformed packet, good
// IP and TCP checksums), and the frame accounting adds up. A run that fails leaves no file.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "capture/capture.h"
#include "decode/decoder.h"
#include "experts/builtin/builtin_testing.h"
#include "experts/builtin/builtins.h"
#include "experts/session.h"
#include "testsupport/oracle.h"

namespace warden::experts {
namespace {

namespace bt = builtin_testing;
using bt::column;

std::multiset<std::string> tsharkReassembled(const std::string& path) {
  std::multiset<std::string> out;
  for (const auto& row :
       bt::tsharkRows(path,
                      "-2 -o ip.defragment:TRUE -o ipv6.defragment:TRUE -Y "
                      "'ip.reassembled.data || ipv6.reassembled.data' -T fields -E occurrence=f "
                      "-e ip.reassembled.data -e ipv6.reassembled.data")) {
    for (const std::string& cell : row) {
      if (!cell.empty()) out.insert(cell);
    }
  }
  return out;
}

// The upper-layer bytes of each coalesced datagram in our output.
std::multiset<std::string> ourDatagrams(const std::string& path) {
  std::multiset<std::string> out;
  auto c = capture::Capture::open(path);
  EXPECT_TRUE(c.ok());
  if (!c.ok()) return out;
  decode::DecodedFrame d;
  for (std::size_t i = 0; i < c->frameCount(); ++i) {
    capture::Frame f = c->frame(i);
    if (!f.comment.starts_with("Warden coalesced IPv")) continue;
    decode::decodeFrame(f.bytes, f.linkType, f.wireLength, d);
    for (std::size_t l = 0; l + 1 < d.layerCount; ++l) {
      if (d.layers[l].layer != decode::Layer::kIpv4 && d.layers[l].layer != decode::Layer::kIpv6)
        continue;
      std::size_t end = d.layers[l].layer == decode::Layer::kIpv4
                            ? d.layers[l].offset + d.ipv4.totalLength
                            : d.layers[l].offset + 40 + d.ipv6.payloadLength;
      std::size_t start = d.layers[l + 1].offset;
      out.insert(warden::testing::hexString(f.bytes.subspan(start, end - start)));
      break;
    }
  }
  return out;
}

std::size_t count(const std::string& path, const std::string& filter) {
  return bt::tsharkRows(path,
                        "-o tcp.try_heuristic_first:TRUE -o tcp.check_checksum:TRUE -o "
                        "ip.check_checksum:TRUE -Y '" +
                            filter + "' -T fields -e frame.number")
      .size();
}

// Returns the number of coalesced frames; `summary`, when given, receives the summary's counts.
std::size_t expectFaithful(const std::string& path, const std::string& dir,
                           const std::string& options = "",
                           std::map<std::string, double>* summary = nullptr) {
  SCOPED_TRACE(path + " " + options);
  std::string out = dir + "/" + std::filesystem::path(path).filename().string() + ".pcapng";
  RunResult r = bt::runBuiltin(path, "coalesce", "out=" + out + options);
  EXPECT_TRUE(r.succeeded()) << r.message;
  EXPECT_EQ(r.reclaimed.blocks, 0u);
  EXPECT_EQ(r.closersRun, 0u) << "a good run keeps its file";
  if (!std::filesystem::exists(out)) {
    ADD_FAILURE() << out << " was not written";
    return 0;
  }
  std::size_t units = 0, sources = 0, framesIn = 0, framesOut = 0;
  for (const Event& e : r.events) {
    if (e.id == 1) {
      ++units;
      sources += static_cast<std::size_t>(column(e, "Source frames").real);
    } else if (e.id == 2) {
      for (const Column& c : e.columns) {
        if (summary != nullptr) (*summary)[std::string(c.name)] = c.value.real;
      }
      framesIn = static_cast<std::size_t>(column(e, "Frames in").real);
      framesOut = static_cast<std::size_t>(column(e, "Frames out").real);
    }
  }
  EXPECT_EQ(framesOut, framesIn - sources + units);
  EXPECT_EQ(warden::testing::capinfosCount(out).packets, framesOut);

  auto before = warden::testing::tsharkFollowTcp(path);
  auto after = warden::testing::tsharkFollowTcp(out);
  EXPECT_TRUE(before.ok() && after.ok());
  if (before.ok() && after.ok()) {
    EXPECT_EQ(before->directions.size(), after->directions.size());
    for (const auto& [direction, hex] : before->directions) {
      auto it = after->directions.find(direction);
      if (it == after->directions.end()) {
        ADD_FAILURE() << direction << " is missing from the output";
      } else if (it->second != hex) {
        ADD_FAILURE() << direction << ": " << hex.size() / 2 << " bytes before, "
                      << it->second.size() / 2 << " after";
      }
    }
  }
  EXPECT_EQ(ourDatagrams(out), tsharkReassembled(path));
  EXPECT_EQ(count(out,
                  "frame.comment contains \"Warden coalesced\" && (tcp.checksum.status == 0 "
                  "|| ip.checksum.status == 0)"),
            0u);
  // A coalesced frame tshark finds malformed must be one whose content tshark already found
  // malformed in the original, once reassembled there (zeek's teardrop-like NTP datagram).
  std::set<std::string> malformedBefore;
  for (const auto& row : bt::tsharkRows(path,
                                        "-o tcp.try_heuristic_first:TRUE -Y _ws.malformed "
                                        "-T fields -e frame.number")) {
    if (!row.empty()) malformedBefore.insert(row[0]);
  }
  for (const auto& row : bt::tsharkRows(out,
                                        "-o tcp.try_heuristic_first:TRUE -Y "
                                        "'_ws.malformed && frame.comment' -T fields -e "
                                        "frame.comment")) {
    if (row.empty() || !row[0].starts_with("Warden coalesced")) continue;
    std::string sources = row[0].substr(row[0].rfind(' ') + 1);
    bool inherited = false;
    std::stringstream in(sources);
    for (std::string f; std::getline(in, f, ',');)
      inherited = inherited || malformedBefore.count(f);
    EXPECT_TRUE(inherited) << "malformed after coalescing: " << row[0];
  }
  EXPECT_EQ(count(out,
                  "frame.comment contains \"Warden coalesced\" && (ip.flags.mf == 1 || "
                  "ip.frag_offset > 0 || ipv6.fraghdr)"),
            0u)
      << "a coalesced frame is never a fragment";
  EXPECT_LE(count(out, "_ws.malformed"), count(path, "_ws.malformed"));
  EXPECT_EQ(count(out, "frame.comment contains \"Warden coalesced\""), units);
  return units;
}

class Coalesce : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!warden::testing::haveTool("tshark")) GTEST_SKIP() << "tshark not installed";
    dir_ = warden::testing::makeTempDir("warden-coalesce");
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string dir_;
};

TEST_F(Coalesce, KeepsEveryByteOfSharedCaptures) {
  auto captures = warden::testing::filesUnder(std::string(WARDEN_SHARED_DIR) + "/captures",
                                              {".pcap", ".pcapng"});
  if (captures.empty()) GTEST_SKIP() << "../shared/captures is absent";
  std::size_t units = 0;
  for (const std::string& path : captures) units += expectFaithful(path, dir_);
  EXPECT_GE(units, 50u);
  RecordProperty("units", static_cast<int>(units));
}

TEST_F(Coalesce, KeepsEveryByteOfRecordedTraffic) {
  std::string why;
  const std::string& recorded = bt::recordedDir(&why);
  if (recorded.empty()) GTEST_SKIP() << why;
  EXPECT_GE(expectFaithful(recorded + "/frag.pcap", dir_), 4u) << "UDP and ICMP, v4 and v6";
  expectFaithful(recorded + "/http.pcap", dir_);
  expectFaithful(recorded + "/lossy.pcap", dir_);
}

// A data segment the capture missed but the receiver acknowledged (cut here from a recording with
// editcap) will never come: the bytes after it must not wait for the end of the capture, nor every
// later frame with them. The output stays faithful and the run's memory stays what it is on the
// whole recording.
TEST_F(Coalesce, ASegmentTheCaptureMissedHoldsNothingBack) {
  std::string why;
  const std::string& recorded = bt::recordedDir(&why);
  if (recorded.empty()) GTEST_SKIP() << why;
  const std::string whole = recorded + "/lossy.pcap";
  auto data = bt::tsharkRows(whole,
                             "-Y 'tcp.len > 1000 && !tcp.analysis.retransmission && "
                             "!tcp.analysis.out_of_order' -T fields -e frame.number");
  ASSERT_GE(data.size(), 100u);
  const std::string cut = dir_ + "/missed.pcap";
  auto edited = warden::testing::run("editcap " + warden::testing::shellQuote(whole) + " " +
                                     warden::testing::shellQuote(cut) + " " + data[20].at(0));
  ASSERT_TRUE(edited.ok() && edited->exitCode == 0);
  expectFaithful(cut, dir_);
  RunResult a = bt::runBuiltin(whole, "coalesce", "out=" + dir_ + "/a.pcapng");
  RunResult b = bt::runBuiltin(cut, "coalesce", "out=" + dir_ + "/b.pcapng");
  ASSERT_TRUE(a.succeeded() && b.succeeded());
  EXPECT_LE(b.memory.peakBytes, a.memory.peakBytes * 3 / 2)
      << "frames queued behind the missing segment";
}

// A hold of one byte writes every frame at once, before reassembly is done with it: no unit can be
// made, each is counted as having waited too long, and still no byte is lost or doubled.
TEST_F(Coalesce, ASmallHoldWritesFramesEarlyAndLosesNothing) {
  const std::string path = std::string(WARDEN_SHARED_DIR) + "/captures/zeek_http_bro.org.pcap";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent";
  std::map<std::string, double> whole, held;
  std::size_t units = expectFaithful(path, dir_, "", &whole);
  EXPECT_GT(units, 0u);
  EXPECT_EQ(whole["Waited too long"], 0);
  EXPECT_EQ(expectFaithful(path, dir_, ",hold=1", &held), 0u);
  EXPECT_EQ(held["Waited too long"], static_cast<double>(units));
}

// A run that ends early after it created the file (its event budget runs out at the first
// coalesced frame) leaves no file and no descriptor: the ledger's closer removed it. Runs refused
// memory at any point leave no file either.
TEST_F(Coalesce, AFailedRunLeavesNoFile) {
  std::string path = std::string(WARDEN_SHARED_DIR) + "/captures/zeek_http_bro.org.pcap";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent";
  auto fds = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                         std::filesystem::directory_iterator());
  };
  auto opened = capture::Capture::open(path);
  ASSERT_TRUE(opened.ok());
  Catalog catalog;
  addBuiltins(catalog);
  std::string out = dir_ + "/partial.pcapng";
  auto run = [&](SessionOptions options) {
    auto session = Session::create(*opened, path, options);
    EXPECT_TRUE(session.ok());
    return (*session)->run({{catalog.find("coalesce"), "out=" + out}}).at(0);
  };
  auto before = fds();
  SessionOptions few;
  few.maxEventBytes = 64;
  RunResult r = run(few);
  EXPECT_EQ(r.outcome, Outcome::kLimitExceeded) << r.message;
  EXPECT_EQ(r.closersRun, 1u) << "the ledger closed and removed the partial file";
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_EQ(fds(), before);

  RunResult full = run({});
  ASSERT_TRUE(full.succeeded()) << full.message;
  std::filesystem::remove(out);
  for (std::size_t eighth = 1; eighth < 8; ++eighth) {
    SessionOptions quota;
    quota.memoryQuota = full.memory.peakBytes * eighth / 8;
    RunResult q = run(quota);
    EXPECT_FALSE(q.succeeded()) << "quota " << quota.memoryQuota;
    EXPECT_FALSE(std::filesystem::exists(out)) << "quota " << quota.memoryQuota;
    EXPECT_EQ(q.memory.liveBlocks, 0u);
  }
  EXPECT_EQ(fds(), before);
}

}  // namespace
}  // namespace warden::experts
