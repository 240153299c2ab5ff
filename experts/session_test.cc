// The expert host against real plug-ins (shared libraries loaded with dlopen) over a real capture:
// how each kind of failure ends, that the host takes back exactly what the plug-in held, that
// other runs are untouched, and that nothing stays alive after a thousand failing runs.
#include "experts/session.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "custody/slab_pool.h"
#include "experts/builtin/builtins.h"
#include "testsupport/oracle.h"

namespace warden::experts {
namespace {

using namespace std::chrono_literals;

const std::string kCapturePath =
    std::string(WARDEN_SHARED_DIR) + "/captures/zeek_http_bro.org.pcap";

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kCapturePath)) GTEST_SKIP() << kCapturePath << " is absent";
    auto opened = capture::Capture::open(kCapturePath);
    ASSERT_TRUE(opened.ok()) << opened.status().toString();
    capture_.emplace(std::move(*opened));
    addBuiltins(catalog_);
    catalog_.addDirectory(WARDEN_TEST_PLUGINS);
    ASSERT_TRUE(catalog_.errors().empty()) << catalog_.errors().front().status.toString();
  }

  const Plugin& plugin(std::string_view id) {
    const Plugin* p = catalog_.find(id);
    EXPECT_NE(p, nullptr) << id;
    return *p;
  }

  std::unique_ptr<Session> session(SessionOptions options = {}) {
    auto created = Session::create(*capture_, kCapturePath, std::move(options));
    EXPECT_TRUE(created.ok()) << created.status().toString();
    return std::move(*created);
  }

  RunResult runOne(std::string_view id, std::string options = "", SessionOptions session = {}) {
    auto s = this->session(std::move(session));
    auto results = s->run({{&plugin(id), std::move(options)}});
    return std::move(results.at(0));
  }

  // The "Holding" event (id 100) a fault plug-in submits before it fails.
  static std::pair<std::size_t, std::size_t> holding(const RunResult& run) {
    for (const Event& e : run.events) {
      if (e.id == 100) {
        return {static_cast<std::size_t>(e.columns.at(0).value.real),
                static_cast<std::size_t>(e.columns.at(1).value.integer)};
      }
    }
    ADD_FAILURE() << run.expert << " submitted no Holding event";
    return {0, 0};
  }

  std::optional<capture::Capture> capture_;
  Catalog catalog_;
};

TEST_F(SessionTest, CatalogFindsPluginsByIdAndName) {
  EXPECT_EQ(&plugin("fails"), catalog_.find("FAILS"));  // names ignore case
  EXPECT_EQ(catalog_.find("Protocol Distribution")->id(), "protdist");
  EXPECT_EQ(catalog_.find("nope"), nullptr);
  EXPECT_TRUE(plugin("checker").configurable());
  EXPECT_EQ(plugin("nm2port").name(), "NM2 port");
}

TEST_F(SessionTest, BrokenPluginsAreReportedOneByOneAndTheRestLoad) {
  Catalog catalog;
  catalog.addDirectory(WARDEN_TEST_BROKEN_PLUGINS);
  catalog.addDirectory(WARDEN_TEST_PLUGINS);
  std::string garbageDir = warden::testing::makeTempDir("warden-garbage");
  std::ofstream(garbageDir + "/libgarbage.so") << "this is not an ELF file";
  catalog.addDirectory(garbageDir);
  catalog.addDirectory("/nonexistent/warden-experts");
  std::map<std::string, std::string> errors;
  for (const LoadError& e : catalog.errors()) {
    errors[std::filesystem::path(e.path).filename().string()] = e.status.toString();
  }
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_NE(errors["libbad_abi.so"].find("built against expert ABI 99, this host speaks ABI 1"),
            std::string::npos);
  EXPECT_NE(errors["libno_run.so"].find("missing entry point Run"), std::string::npos);
  EXPECT_NE(errors["libnot_a_plugin.so"].find("no warden_expert_abi_version symbol"),
            std::string::npos);
  EXPECT_NE(errors["libgarbage.so"].find("cannot load"), std::string::npos);
  EXPECT_NE(errors["warden-experts"].find("expert directory"), std::string::npos);
  Catalog builtins;
  addBuiltins(builtins);
  EXPECT_EQ(catalog.plugins().size(), catalog_.plugins().size() - builtins.plugins().size());
  std::filesystem::remove_all(garbageDir);
}

TEST_F(SessionTest, DuplicateExpertIsRefused) {
  Catalog catalog;
  catalog.addDirectory(WARDEN_TEST_PLUGINS);
  catalog.addDirectory(WARDEN_TEST_PLUGINS);
  EXPECT_EQ(catalog.errors().size(), catalog.plugins().size());
  EXPECT_NE(catalog.errors().front().status.toString().find("already loaded"), std::string::npos);
}

TEST_F(SessionTest, CheckerFindsEveryHelperKeepingItsPromises) {
  SessionOptions options;
  options.filter = "tcp.port == 80";
  options.focusedFrame = 2;
  options.focusedField = "tcp.seq";
  RunResult r = runOne("checker", "answer=42", options);
  ASSERT_TRUE(r.succeeded()) << outcomeName(r.outcome) << ": " << r.message;
  EXPECT_EQ(r.memory.invalidFrees, 3u);  // the double, foreign and realloc-foreign attempts
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].columns.at(0).value.text, "copied");
  EXPECT_EQ(r.events[1].columns.at(0).value.text, "changed");
  EXPECT_EQ(r.rejectedEvents, 2u);
  EXPECT_EQ(r.closersRun, 0u);  // both resources were released by the expert
  EXPECT_EQ(r.status.status, WARDEN_STATUS_DONE);
  EXPECT_EQ(r.reclaimed.blocks, 0u);  // it freed what it took; the configuration is the host's
  EXPECT_EQ(r.memory.totalAllocations,
            2u);  // the configuration blob and one block (reallocs aside)
}

TEST_F(SessionTest, ThrowingExpertIsCaughtAndEverythingItHeldIsReclaimed) {
  RunResult r = runOne("throws");
  EXPECT_EQ(r.outcome, Outcome::kThrew);
  EXPECT_NE(r.message.find("Run threw: boom after frame 5"), std::string::npos) << r.message;
  auto [bytes, blocks] = holding(r);
  EXPECT_EQ(blocks, 25u);
  EXPECT_EQ(r.reclaimed.bytes, bytes);
  EXPECT_EQ(r.reclaimed.blocks, blocks);
  EXPECT_EQ(r.framesRead, 5u);
}

TEST_F(SessionTest, FailingExpertWithTenThousandBlocksIsReclaimedExactly) {
  RunResult r = runOne("fails");
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_NE(r.message.find("giving up on purpose"), std::string::npos) << r.message;
  auto [bytes, blocks] = holding(r);
  EXPECT_EQ(blocks, 10000u);
  EXPECT_EQ(r.reclaimed.blocks, 10000u);
  EXPECT_EQ(r.reclaimed.bytes, bytes);
  EXPECT_EQ(r.memory.totalAllocations, 10000u);
}

TEST_F(SessionTest, QuotaAbortsTheRunAndEveryHelperAnswersTerminate) {
  SessionOptions options;
  options.memoryQuota = 10 << 20;
  RunResult r = runOne("hog", "", options);
  EXPECT_EQ(r.outcome, Outcome::kQuotaExceeded) << r.message;
  EXPECT_NE(r.message.find("quota"), std::string::npos) << r.message;
  EXPECT_EQ(r.reclaimed.blocks, 160u);  // 160 x 64 KiB = 10 MiB
  EXPECT_EQ(r.reclaimed.bytes, 160u * 65536);
  EXPECT_EQ(r.memory.refusedAllocations,
            1u);  // the one over quota; later ones never reached the heap
  EXPECT_EQ(r.status.status, WARDEN_STATUS_ABORTED);
}

TEST_F(SessionTest, BlockQuotaToo) {
  SessionOptions options;
  options.blockQuota = 1000;
  RunResult r = runOne("fails", "", options);
  EXPECT_EQ(r.outcome, Outcome::kQuotaExceeded) << r.message;
  EXPECT_EQ(r.reclaimed.blocks, 1000u);
}

TEST_F(SessionTest, ExpertThatIgnoresTerminateIsHungThenReleasedWhenItReturns) {
  SessionOptions options;
  options.timeout = 100ms;
  options.grace = 200ms;
  auto s = session(options);
  auto begin = std::chrono::steady_clock::now();
  auto results = s->run({{&plugin("stubborn"), "ignore_ms=1500"}, {&plugin("protdist"), ""}});
  auto waited = std::chrono::steady_clock::now() - begin;
  EXPECT_LT(waited, 1400ms);  // the host did not wait for the stubborn one
  EXPECT_EQ(results[0].outcome, Outcome::kHung);
  EXPECT_NE(results[0].message.find("timeout"), std::string::npos) << results[0].message;
  EXPECT_TRUE(results[1].succeeded()) << results[1].message;
  EXPECT_EQ(s->hungRuns(), 1u);
  auto late = s->waitForHung();
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].reclaimed.blocks, 100u);
  EXPECT_EQ(late[0].reclaimed.bytes, 100000u);
  EXPECT_EQ(s->hungRuns(), 0u);
}

TEST_F(SessionTest, ExpertThatStopsWithinTheGracePeriodTimesOut) {
  SessionOptions options;
  options.timeout = 50ms;
  options.grace = 2000ms;
  RunResult r = runOne("stubborn", "ignore_ms=20", options);
  EXPECT_EQ(r.outcome, Outcome::kTimedOut) << r.message;
  EXPECT_EQ(r.reclaimed.blocks, 100u);
}

TEST_F(SessionTest, CancelAbortsEveryRun) {
  auto s = session();
  std::thread canceller([&] {
    std::this_thread::sleep_for(50ms);
    s->cancel();
  });
  auto results =
      s->run({{&plugin("stubborn"), "ignore_ms=0"}, {&plugin("stubborn"), "ignore_ms=0"}});
  canceller.join();
  for (const RunResult& r : results) {
    EXPECT_EQ(r.outcome, Outcome::kCancelled) << r.message;
    EXPECT_EQ(r.reclaimed.blocks, 100u);
  }
}

TEST_F(SessionTest, InterruptFlagAbortsEveryRun) {
  std::atomic<bool> interrupt{false};
  SessionOptions options;
  options.interrupt = &interrupt;
  auto s = session(options);
  std::thread signaller([&] {
    std::this_thread::sleep_for(50ms);
    interrupt = true;
  });
  auto results = s->run({{&plugin("stubborn"), "ignore_ms=0"}});
  signaller.join();
  EXPECT_EQ(results[0].outcome, Outcome::kCancelled);
}

TEST_F(SessionTest, ProgressReportsEachRunWhileTheyGo) {
  std::atomic<bool> interrupt{false};
  std::vector<std::string> seen;
  SessionOptions options;
  options.interrupt = &interrupt;
  options.progressInterval = 10ms;
  options.progress = [&](const std::vector<std::pair<std::string, StatusReport>>& runs) {
    for (const auto& [id, status] : runs) seen.push_back(id);
    if (seen.size() >= 4) interrupt = true;  // enough: stop the runs
  };
  auto results = session(options)->run({{&plugin("stubborn"), "ignore_ms=0"}});
  EXPECT_EQ(results[0].outcome, Outcome::kCancelled);
  ASSERT_GE(seen.size(), 4u);
  EXPECT_EQ(seen.front(), "stubborn");
}

TEST_F(SessionTest, FileRegisteredWithTheLedgerIsClosedWhenTheExpertFails) {
  std::string dir = warden::testing::makeTempDir("warden-ledger");
  std::string path = dir + "/out.pcapng";
  RunResult r = runOne("leaves_file", "path=" + path);
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_EQ(r.closersRun, 1u);
  EXPECT_TRUE(r.closerFailures.empty());
  EXPECT_EQ(r.reclaimed.blocks, 1u);
  int fd = -1;
  for (const Event& e : r.events) {
    if (e.id == 101) fd = static_cast<int>(e.columns.at(0).value.integer);
  }
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(fcntl(fd, F_GETFD), -1);  // closed by the host
  EXPECT_EQ(errno, EBADF);
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, "partial");
  std::filesystem::remove_all(dir);
}

TEST_F(SessionTest, FailuresDoNotDisturbConcurrentRuns) {
  RunResult alone = runOne("protdist");
  ASSERT_TRUE(alone.succeeded());
  std::string dir = warden::testing::makeTempDir("warden-concurrent");
  auto s = session();
  auto results = s->run({{&plugin("throws"), ""},
                         {&plugin("protdist"), ""},
                         {&plugin("fails"), ""},
                         {&plugin("leaves_file"), "path=" + dir + "/x"},
                         {&plugin("nm2port"), ""}});
  EXPECT_EQ(results[0].outcome, Outcome::kThrew);
  EXPECT_EQ(results[2].outcome, Outcome::kFailed);
  EXPECT_EQ(results[3].outcome, Outcome::kFailed);
  EXPECT_TRUE(results[4].succeeded());
  const RunResult& together = results[1];
  ASSERT_TRUE(together.succeeded()) << together.message;
  ASSERT_EQ(together.events.size(), alone.events.size());
  for (std::size_t i = 0; i < alone.events.size(); ++i) {
    for (std::size_t c = 0; c < alone.events[i].columns.size(); ++c) {
      EXPECT_EQ(together.events[i].columns[c].value.toString(),
                alone.events[i].columns[c].value.toString());
    }
  }
  EXPECT_EQ(holding(results[2]).second, results[2].reclaimed.blocks);
  std::filesystem::remove_all(dir);
}

TEST_F(SessionTest, Nm2PortCountsWhatTsharkCounts) {
  if (!warden::testing::haveTool("tshark")) GTEST_SKIP() << "tshark is not installed";
  RunResult r = runOne("nm2port");
  ASSERT_TRUE(r.succeeded()) << r.message;
  ASSERT_EQ(r.events.size(), 2u);
  auto tshark = warden::testing::run("tshark -n -r " + warden::testing::shellQuote(kCapturePath) +
                                     " -Y tcp -T fields -e frame.number -e ip.src");
  ASSERT_TRUE(tshark.ok());
  std::size_t lines = std::count(tshark->out.begin(), tshark->out.end(), '\n');
  const Event& e = r.events[0];
  EXPECT_EQ(e.columns.at(0).value.integer, static_cast<std::int64_t>(lines));
  std::string firstSource = tshark->out.substr(tshark->out.find('\t') + 1);
  firstSource.resize(firstSource.find('\n'));
  EXPECT_EQ(e.columns.at(1).value.toString(), firstSource);
  EXPECT_EQ(e.columns.at(2).value.text, "first");
  EXPECT_EQ(r.events[1].columns.at(2).value.text, "second");
  EXPECT_EQ(formatTime(e.timestampNs), "2001-09-09 01:46:40.000000000");
  EXPECT_EQ(r.reclaimed.blocks, 0u);
}

TEST_F(SessionTest, UnknownOptionsAndOptionsToAnExpertWithoutAreRefused) {
  RunResult r = runOne("stubborn", "ignore_ms=1,ignroe=2");
  EXPECT_EQ(r.outcome, Outcome::kBadConfiguration);
  EXPECT_EQ(r.message, "unknown option 'ignroe'");
  r = runOne("protdist", "x=1");
  EXPECT_EQ(r.outcome, Outcome::kBadConfiguration);
  EXPECT_NE(r.message.find("takes no options"), std::string::npos);
  r = runOne("stubborn", "ignore_ms");
  EXPECT_EQ(r.outcome, Outcome::kBadConfiguration);
  EXPECT_NE(r.message.find("needs a value"), std::string::npos) << r.message;
}

TEST_F(SessionTest, EventLimitStopsARunawayExpert) {
  SessionOptions options;
  options.maxEventBytes = 1500;
  RunResult r = runOne("protdist", "", options);
  EXPECT_EQ(r.outcome, Outcome::kLimitExceeded) << r.message;
  EXPECT_FALSE(r.events.empty());
  EXPECT_EQ(r.reclaimed.blocks, 1u);  // its table
}

TEST_F(SessionTest, BadRunFilterIsRefusedBeforeAnythingRuns) {
  SessionOptions options;
  options.filter = "tcp.port ==";
  auto created = Session::create(*capture_, kCapturePath, options);
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.status().toString().find("--filter"), std::string::npos);
}

TEST_F(SessionTest, AThousandFailingRunsLeaveNothingAlive) {
  auto before = custody::SlabPool::instance().stats().slabsInUse();
  auto s = session();
  std::size_t reclaimed = 0;
  for (int i = 0; i < 1000; ++i) {
    const char* id = i % 2 ? "throws" : "fails";
    auto results = s->run({{&plugin(id), i % 2 ? "" : "blocks=200"}});
    const RunResult& r = results[0];
    ASSERT_FALSE(r.succeeded());
    ASSERT_EQ(r.reclaimed.blocks, holding(r).second) << "run " << i;
    reclaimed += r.reclaimed.blocks;
  }
  EXPECT_EQ(reclaimed, 500u * 200 + 500u * 25);
  EXPECT_EQ(custody::SlabPool::instance().stats().slabsInUse(), before);
}

}  // namespace
}  // namespace warden::experts
