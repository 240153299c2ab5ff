// Status, Result and the propagation macros: codes, messages, context order, locations.
#include "base/status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace warden {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

Status failsWith(Code code) { return Status(code, "inner failure"); }

Status twoLevels(int record) {
  WARDEN_TRY(failsWith(Code::kTruncated)) << "record " << record;
  return Status();
}

Status threeLevels() {
  WARDEN_TRY(twoLevels(5)) << "reading x.pcap";
  return Status();
}

Result<int> parsesOrNot(bool good) {
  if (!good) return MalformedError("bad digit '{}' at offset {}", 'x', 12);
  return 42;
}

Result<int> doubled(bool good) {
  WARDEN_ASSIGN_OR_RETURN(int v, parsesOrNot(good), << "field "
                                                    << "len");
  return v * 2;
}

Status usesAssignWithoutContext(bool good, int& out) {
  WARDEN_ASSIGN_OR_RETURN(out, parsesOrNot(good));
  return Status();
}

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Code::kOk);
  EXPECT_EQ(s.toString(), "ok");
}

TEST(Status, OkCodeMakesOkStatusWhateverTheMessage) {
  EXPECT_TRUE(Status(Code::kOk, "ignored").ok());
}

TEST(Status, CarriesCodeMessageAndLocation) {
  Status s = TruncatedError("need {} bytes at offset {}, have {}", 16, 24, 3);
  int line = __LINE__ - 1;
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kTruncated);
  EXPECT_EQ(s.message(), "need 16 bytes at offset 24, have 3");
  EXPECT_EQ(s.where().line, static_cast<std::uint32_t>(line));
  EXPECT_EQ(s.toString(), fmt::format("truncated: need 16 bytes at offset 24, have 3 "
                                      "[base/status_test.cc:{}]",
                                      line));
}

TEST(Status, ContextIsPrintedOutermostFirst) {
  Status s = threeLevels();
  EXPECT_EQ(s.code(), Code::kTruncated);
  EXPECT_EQ(s.message(), "inner failure");
  EXPECT_THAT(s.toString(), StartsWith("truncated: reading x.pcap: record 5: inner failure ["));
}

TEST(Status, CopiesAreIndependent) {
  Status a = NotFoundError("no {}", "thing");
  Status b = a;
  b.addContext("outer");
  EXPECT_EQ(a.toString().find("outer"), std::string::npos);
  EXPECT_THAT(b.toString(), HasSubstr("outer: no thing"));
  a = b;
  EXPECT_THAT(a.toString(), HasSubstr("outer: no thing"));
}

TEST(Result, ValueAndFailure) {
  Result<int> good = parsesOrNot(true);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 42);
  EXPECT_TRUE(good.status().ok());

  Result<int> bad = parsesOrNot(false);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kMalformed);
  EXPECT_EQ(bad.status().message(), "bad digit 'x' at offset 12");
}

TEST(Result, AssignOrReturnPropagatesWithContext) {
  EXPECT_EQ(*doubled(true), 84);
  Result<int> bad = doubled(false);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().toString(), StartsWith("malformed: field len: bad digit 'x'"));

  int out = 0;
  EXPECT_TRUE(usesAssignWithoutContext(true, out).ok());
  EXPECT_EQ(out, 42);
  EXPECT_EQ(usesAssignWithoutContext(false, out).code(), Code::kMalformed);
}

TEST(Result, OkStatusIsNotAValue) {
  Result<int> r{Status()};
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInternal);
}

TEST(Result, AddContextOnlyTouchesFailures) {
  Result<std::string> ok = std::string("v");
  EXPECT_EQ(*std::move(ok).addContext("ctx"), "v");
  Result<std::string> bad = Status(Code::kCancelled, "stop");
  EXPECT_THAT(std::move(bad).addContext("run 3").status().toString(),
              StartsWith("cancelled: run 3: stop"));
}

TEST(ResultDeathTest, ValueOfFailureAborts) {
  Result<int> bad = parsesOrNot(false);
  EXPECT_DEATH((void)bad.value(), "value\\(\\) of a failed Result: malformed");
}

TEST(Status, EveryCodeHasAName) {
  for (int c = 0; c <= static_cast<int>(Code::kInternal); ++c) {
    EXPECT_NE(codeName(static_cast<Code>(c)), "unknown code") << c;
  }
}

}  // namespace
}  // namespace warden
