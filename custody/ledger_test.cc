// Ledger: reverse order, failing and throwing closers, real descriptors and files.
#include "custody/ledger.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace warden::custody {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

bool fdIsOpen(int fd) { return fcntl(fd, F_GETFD) != -1; }

std::string tempPath() {
  std::string path = (std::filesystem::temp_directory_path() / "warden-ledger-XXXXXX").string();
  int fd = mkstemp(path.data());
  EXPECT_GE(fd, 0);
  ::close(fd);
  return path;
}

TEST(Ledger, SweepRunsClosersNewestFirst) {
  Ledger ledger("run");
  std::vector<std::string> order;
  for (std::string name : {"a", "b", "c"}) {
    ledger.add(name, [&order, name] {
      order.push_back(name);
      return Status();
    });
  }
  EXPECT_EQ(ledger.pending(), 3u);
  SweepReport report = ledger.sweep();
  EXPECT_THAT(order, ElementsAre("c", "b", "a"));
  EXPECT_EQ(report.ran, 3u);
  EXPECT_TRUE(report.failures.empty());
  EXPECT_EQ(ledger.pending(), 0u);
  EXPECT_EQ(ledger.sweep().ran, 0u) << "a second sweep has nothing to do";
}

TEST(Ledger, FailingAndThrowingClosersAreReportedAndTheRestStillRun) {
  Ledger ledger("run");
  std::vector<std::string> order;
  ledger.add("first", [&] {
    order.push_back("first");
    return Status();
  });
  ledger.add("fails", [&]() -> Status {
    order.push_back("fails");
    return IoError("disk gone");
  });
  ledger.add("throws", [&]() -> Status {
    order.push_back("throws");
    throw std::runtime_error("boom");
  });
  ledger.add("throws-int", [&]() -> Status {
    order.push_back("throws-int");
    throw 1;
  });
  SweepReport report = ledger.sweep();
  EXPECT_THAT(order, ElementsAre("throws-int", "throws", "fails", "first"));
  EXPECT_EQ(report.ran, 4u);
  ASSERT_EQ(report.failures.size(), 3u);
  EXPECT_EQ(report.failures[0].name, "throws-int");
  EXPECT_EQ(report.failures[0].status.code(), Code::kInternal);
  EXPECT_THAT(report.failures[1].status.message(), HasSubstr("closer threw: boom"));
  EXPECT_EQ(report.failures[2].name, "fails");
  EXPECT_EQ(report.failures[2].status.code(), Code::kIoError);
}

TEST(Ledger, CloseRunsOneEntryNowAndDismissForgetsIt) {
  Ledger ledger("run");
  int closedA = 0, closedB = 0;
  Ledger::Entry a = ledger.add("a", [&] {
    ++closedA;
    return Status();
  });
  Ledger::Entry b = ledger.add("b", [&] {
    ++closedB;
    return Status();
  });
  EXPECT_TRUE(ledger.close(a).ok());
  EXPECT_EQ(closedA, 1);
  EXPECT_EQ(ledger.close(a).code(), Code::kNotFound);
  EXPECT_TRUE(ledger.dismiss(b).ok());
  EXPECT_EQ(ledger.dismiss(b).code(), Code::kNotFound);
  EXPECT_EQ(ledger.sweep().ran, 0u);
  EXPECT_EQ(closedA, 1);
  EXPECT_EQ(closedB, 0);
}

TEST(Ledger, CloseReportsTheCloserFailureWithItsName) {
  Ledger ledger("run");
  Ledger::Entry e = ledger.add("output", [] { return IoError("short write"); });
  Status s = ledger.close(e);
  EXPECT_EQ(s.code(), Code::kIoError);
  EXPECT_THAT(s.toString(), HasSubstr("closing 'output': short write"));
}

TEST(Ledger, ClosesRealDescriptorsAndRemovesTempFiles) {
  std::string path = tempPath();
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  {
    Ledger ledger("expert");
    ledger.addFd("capture output", fd);
    ledger.addTempFile("partial capture", path);
    EXPECT_TRUE(fdIsOpen(fd));
  }  // the destructor sweeps
  EXPECT_FALSE(fdIsOpen(fd));
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(Ledger, ClosingABadDescriptorIsAnIoError) {
  Ledger ledger("expert");
  ledger.addFd("never opened", 987654);
  SweepReport report = ledger.sweep();
  ASSERT_EQ(report.failures.size(), 1u);
  EXPECT_EQ(report.failures[0].status.code(), Code::kIoError);
  EXPECT_THAT(report.failures[0].status.message(), HasSubstr("close(987654) failed"));
}

TEST(Ledger, AlreadyRemovedTempFileCountsAsRemoved) {
  Ledger ledger("expert");
  ledger.addTempFile("gone", "/nonexistent-dir-warden/file");
  EXPECT_TRUE(ledger.sweep().failures.empty());
}

TEST(Ledger, ACloserMayCloseOtherEntries) {
  Ledger ledger("run");
  int closed = 0;
  Ledger::Entry inner = ledger.add("inner", [&] {
    ++closed;
    return Status();
  });
  ledger.add("outer", [&] { return ledger.close(inner); });
  SweepReport report = ledger.sweep();
  EXPECT_EQ(closed, 1);
  EXPECT_EQ(report.ran, 1u) << "inner ran inside outer, not again";
  EXPECT_TRUE(report.failures.empty());
}

}  // namespace
}  // namespace warden::custody
