// Scope: what a failed owner leaves behind is taken back, in the right order, and reported.
#include "custody/scope.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "custody/failure_sweep.h"

namespace warden::custody {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A stand-in for an expert run that fails half-way: it allocates through its scope, opens an
// output file that it registers with the ledger, and returns failure without cleaning up.
Status failingRun(Scope& scope, const std::string& outputPath, int blocks, std::size_t& heldBytes) {
  for (int i = 0; i < blocks; ++i) {
    std::size_t n = 8 + i % 200;
    if (scope.heap().alloc(n) == nullptr) return LimitExceededError("out of memory at {}", i);
    heldBytes += n;
  }
  int fd = ::open(outputPath.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  if (fd < 0) return IoError("open failed");
  scope.ledger().addFd("output descriptor", fd);
  scope.ledger().addTempFile("partial output", outputPath);
  return InternalError("the expert gave up");
}

TEST(Scope, ReleaseAfterAFailedRunTakesEverythingBack) {
  std::string path = (std::filesystem::temp_directory_path() / "warden-scope-test.out").string();
  Scope scope("expert 'demo' run 1");
  std::size_t heldBytes = 0;
  Status run = failingRun(scope, path, 10000, heldBytes);
  ASSERT_EQ(run.code(), Code::kInternal);
  ASSERT_TRUE(std::filesystem::exists(path));
  ReleaseReport report = scope.release();
  EXPECT_EQ(report.memory.blocks, 10000u);
  EXPECT_EQ(report.memory.bytes, heldBytes);
  EXPECT_EQ(report.closersRun, 2u);
  EXPECT_TRUE(report.clean());
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(scope.heap().stats().liveBlocks, 0u);
  EXPECT_EQ(scope.heap().name(), "expert 'demo' run 1");
}

TEST(Scope, ChildrenAreReleasedNewestFirstBeforeTheParentsOwnClosers) {
  std::vector<std::string> order;
  auto note = [&order](std::string what) {
    return [&order, what] {
      order.push_back(what);
      return Status();
    };
  };
  Scope host("host");
  host.ledger().add("host early", note("host early"));
  Scope* first = *host.createChild("first");
  Scope* second = *host.createChild("second");
  first->ledger().add("first a", note("first a"));
  first->ledger().add("first b", note("first b"));
  second->ledger().add("second a", note("second a"));
  Scope* grandchild = *second->createChild("grandchild");
  grandchild->ledger().add("grandchild a", note("grandchild a"));
  host.ledger().add("host late", note("host late"));
  ASSERT_NE(first->heap().alloc(100), nullptr);
  ASSERT_NE(grandchild->heap().alloc(200), nullptr);

  ReleaseReport report = host.release();
  EXPECT_THAT(order, ElementsAre("host late", "grandchild a", "second a", "first b", "first a",
                                 "host early"));
  EXPECT_TRUE(report.clean());
  EXPECT_EQ(host.heap().stats().liveBlocks, 0u);
  EXPECT_EQ(host.heap().stats().liveBytes, 0u);
  EXPECT_GE(report.memory.bytes, 300u);
}

TEST(Scope, ChildCloserFailuresReachTheParentsReport) {
  Scope host("host");
  Scope* child = *host.createChild("call 9");
  child->ledger().add("socket", [] { return IoError("reset"); });
  ReleaseReport report = host.release();
  ASSERT_EQ(report.closerFailures.size(), 1u);
  EXPECT_EQ(report.closerFailures[0].name, "scope 'call 9'");
  EXPECT_EQ(report.closerFailures[0].status.code(), Code::kIoError);
  EXPECT_THAT(report.closerFailures[0].status.message(), HasSubstr("'socket': i/o error: reset"));
}

TEST(Scope, DestroyChildEarlyAndRefuseStrangers) {
  Scope host("host");
  Scope other("other");
  Scope* child = *host.createChild("call");
  Scope* foreign = *other.createChild("call");
  ASSERT_NE(child->heap().alloc(64), nullptr);
  std::size_t before = host.heap().stats().liveBlocks;
  EXPECT_EQ(host.destroyChild(foreign).code(), Code::kNotFound);
  EXPECT_TRUE(host.destroyChild(child).ok());
  EXPECT_LT(host.heap().stats().liveBlocks, before);
  EXPECT_EQ(host.ledger().pending(), 0u);
  EXPECT_EQ(host.heap().stats().liveBlocks, 0u) << "the child's heap and object are gone too";
}

TEST(Scope, ChildrenShareTheParentsQuota) {
  Scope host("host", HeapOptions{.maxBytes = 4096});
  Result<Scope*> child = host.createChild("call");
  ASSERT_TRUE(child.ok());
  Status why;
  EXPECT_EQ((*child)->heap().alloc(4096, &why), nullptr);
  EXPECT_EQ(why.code(), Code::kLimitExceeded);
  EXPECT_THAT(why.message(), HasSubstr("heap 'host' refused"));
}

TEST(Scope, CreatingAChildUnderAFullQuotaFailsCleanly) {
  Scope host("host", HeapOptions{.maxBlocks = 1});
  Result<Scope*> child = host.createChild("call");
  ASSERT_FALSE(child.ok());
  EXPECT_THAT(child.status().toString(), HasSubstr("child scope 'call'"));
  EXPECT_EQ(host.heap().stats().liveBlocks, 0u);
  EXPECT_EQ(host.ledger().pending(), 0u);
}

// Failure injection through a scope, in the way an expert run fails: the routine allocates in a
// child scope and registers resources, and on a refusal just returns. Whichever allocation fails,
// the release runs every closer registered so far and leaves no block alive.
TEST(Scope, FailureInjectionSweepWithoutCleanupByTheRoutine) {
  int opened = 0, closed = 0;
  auto routine = [&](Scope& scope) -> Status {
    Result<Scope*> call = scope.createChild("call");
    if (!call.ok()) return call.status();
    for (int i = 0; i < 20; ++i) {
      if (i % 5 == 0) {
        ++opened;
        (*call)->ledger().add("resource", [&] {
          ++closed;
          return Status();
        });
      }
      Status why;
      if ((*call)->heap().alloc(10 + i, &why) == nullptr) return why;
    }
    return Status();
  };
  std::vector<SweepStep> steps = sweepAllocationFailures(routine);
  // createChild makes two attempts (the child heap, the scope object), then 20 allocations.
  ASSERT_EQ(steps.size(), 23u);
  for (const SweepStep& step : steps) {
    SCOPED_TRACE(step.failedAttempt);
    EXPECT_EQ(step.liveAfterRelease, 0u);
    if (step.reached) {
      EXPECT_EQ(step.status.code(), Code::kLimitExceeded);
    }
    if (step.failedAttempt > 2) {
      EXPECT_GT(step.leftBehind.blocks, 0u);
    }
  }
  EXPECT_TRUE(steps.back().status.ok());
  EXPECT_EQ(opened, closed);
  EXPECT_GT(opened, 0);
}

}  // namespace
}  // namespace warden::custody
