// Report formats on a hand-made result: every column type prints as people expect, JSON parses,
// CSV quotes, and tables split where the event shape changes.
#include "experts/report.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

namespace warden::experts {
namespace {

RunResult sample() {
  RunResult run;
  run.expert = "demo";
  run.name = "Demo";
  run.outcome = Outcome::kFailed;
  run.message = "Run returned failure";
  Event summary;
  summary.id = 1;
  summary.source = "Demo";
  summary.name = "Summary";
  ColumnValue frames;
  frames.type = WARDEN_COLUMN_FRAME;
  frames.integer = 7;
  ColumnValue ip;
  ip.type = WARDEN_COLUMN_IPV4;
  ip.bytes = {10, 0, 0, 1};
  summary.columns = {{"Frame", frames}, {"Server", ip}};
  Event detail = summary;
  detail.id = 2;
  ColumnValue text;
  text.type = WARDEN_COLUMN_STRING;
  text.text = "a, \"quoted\" value";
  ColumnValue yes;
  yes.type = WARDEN_COLUMN_YESNO;
  yes.integer = 1;
  ColumnValue pct;
  pct.type = WARDEN_COLUMN_F64;
  pct.real = 12.3456;
  detail.columns = {{"Note", text}, {"Seen", yes}, {"%", pct}, {"%", pct}};
  detail.severity = WARDEN_SEVERITY_STRONG_WARNING;
  run.events = {summary, detail, detail};
  return run;
}

TEST(Report, ColumnValuesPrintAsPeopleReadThem) {
  ColumnValue v;
  v.type = WARDEN_COLUMN_MAC;
  v.bytes = {0, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f};
  EXPECT_EQ(v.toString(), "00:1b:2c:3d:4e:5f");
  v.type = WARDEN_COLUMN_IPV6;
  v.bytes = {0x20, 0x01, 0x0d, 0xb8};
  EXPECT_EQ(v.toString(), "2001:db8::");
  v.type = WARDEN_COLUMN_ONOFF;
  v.integer = 0;
  EXPECT_EQ(v.toString(), "Off");
  v.type = WARDEN_COLUMN_TIME;
  v.integer = 1'000'000'000'000'000'123;
  EXPECT_EQ(v.toString(), "2001-09-09 01:46:40.000000123");
  v.type = WARDEN_COLUMN_I8;
  v.integer = -5;
  EXPECT_EQ(v.toString(), "-5");
  v.type = WARDEN_COLUMN_F64;
  v.real = 3757;
  EXPECT_EQ(v.toString(), "3757");
  v.real = 21.428571;
  EXPECT_EQ(v.toString(), "21.43");
}

// The fast path for two decimals writes what fmt writes, over every magnitude it takes, and leaves
// ties and large values to fmt.
TEST(Report, TwoDecimalsAsFmtWritesThem) {
  std::mt19937_64 random(5);
  std::size_t fast = 0, tries = 0;
  for (int exponent = -3; exponent <= 9; ++exponent) {
    std::uniform_real_distribution<double> value(-std::pow(10.0, exponent),
                                                 std::pow(10.0, exponent));
    for (int i = 0; i < 20000; ++i, ++tries) {
      double x = value(random);
      if (i % 4 == 0) x = std::round(x * 1000) / 1000;  // near the halves of a cent
      std::string ours;
      if (!appendTwoDecimals(ours, x)) {
        EXPECT_TRUE(ours.empty());
        continue;
      }
      ++fast;
      ASSERT_EQ(ours, fmt::format("{:.2f}", x)) << x;
    }
  }
  EXPECT_GT(fast, tries * 3 / 4);
  std::string out;
  EXPECT_FALSE(appendTwoDecimals(out, 0.125)) << "an exact tie: fmt rounds it to even";
  EXPECT_FALSE(appendTwoDecimals(out, 2.675)) << "a hair from a tie";
  EXPECT_FALSE(appendTwoDecimals(out, 1e8));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(appendTwoDecimals(out, -1234.5678));
  EXPECT_EQ(out, "-1234.57");
}

TEST(Report, TextSplitsTablesWhereTheShapeChanges) {
  std::string text = reportText({"x.pcap", 10, ""}, {sample()});
  EXPECT_NE(text.find("== Demo [demo]: failed (Run returned failure)"), std::string::npos) << text;
  EXPECT_NE(text.find("Event    Frame  Server"), std::string::npos) << text;
  EXPECT_NE(text.find("strong warning  Summary  a, \"quoted\" value  Yes"), std::string::npos)
      << text;
}

TEST(Report, JsonIsOneDocumentWithDuplicateColumnsKept) {
  auto doc = nlohmann::json::parse(reportJson({"x.pcap", 10, "tcp"}, {sample()}));
  EXPECT_EQ(doc["frames"], 10);
  EXPECT_EQ(doc["filter"], "tcp");
  const auto& run = doc["runs"][0];
  EXPECT_EQ(run["outcome"], "failed");
  EXPECT_EQ(run["events"].size(), 3u);
  EXPECT_EQ(run["events"][0]["columns"]["Server"], "10.0.0.1");
  EXPECT_EQ(run["events"][0]["columns"]["Frame"], 7);
  EXPECT_EQ(run["events"][1]["columns"]["Seen"], true);
  EXPECT_DOUBLE_EQ(run["events"][1]["columns"]["%#2"].get<double>(), 12.3456);
  EXPECT_EQ(run["events"][1]["severity"], "strong warning");
}

TEST(Report, JsonLinesHaveOneEventPerLineThenTheRun) {
  std::string out = reportJsonLines({"x.pcap", 10, ""}, {sample()});
  std::vector<nlohmann::json> lines;
  std::size_t start = 0;
  for (std::size_t end; (end = out.find('\n', start)) != std::string::npos; start = end + 1) {
    lines.push_back(nlohmann::json::parse(out.substr(start, end - start)));
  }
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["type"], "event");
  EXPECT_EQ(lines[0]["expert"], "demo");
  EXPECT_EQ(lines[3]["type"], "run");
  EXPECT_EQ(lines[3]["event_count"], 3);
  EXPECT_FALSE(lines[3].contains("events"));
}

// A long table is written in parts on several threads; the rows still come out whole and in order.
TEST(Report, LongTablesKeepTheirRowsInOrder) {
  RunResult run;
  run.expert = "many";
  run.name = "Many";
  constexpr std::size_t kRows = 20000;
  for (std::size_t i = 0; i < kRows; ++i) {
    Event e;
    e.id = 1;
    e.source = "Many";
    e.name = "Row";
    ColumnValue n;
    n.type = WARDEN_COLUMN_U32;
    n.integer = static_cast<std::int64_t>(i);
    ColumnValue share;
    share.type = WARDEN_COLUMN_F64;
    share.real = static_cast<double>(i) / 7;
    e.columns = {{"N", n}, {"Share", share}};
    run.events.push_back(e);
  }
  std::string csv = reportCsv({"x.pcap", 10, ""}, {run});
  std::string text = reportText({"x.pcap", 10, ""}, {run});
  std::size_t csvAt = csv.find("expert,Severity,Event,N,Share\r\n");
  ASSERT_NE(csvAt, std::string::npos);
  std::size_t textAt = 0;
  for (std::size_t i = 0; i < kRows; ++i) {
    std::string share = run.events[i].columns[1].value.toString();
    std::string row = fmt::format("many,informational,Row,{},{}\r\n", i, share);
    csvAt = csv.find(row, csvAt);
    ASSERT_NE(csvAt, std::string::npos) << row;
    textAt = text.find(fmt::format("  {}  ", i), textAt);
    ASSERT_NE(textAt, std::string::npos) << i;
  }
}

TEST(Report, CsvQuotesAndStartsATablePerShape) {
  std::string csv = reportCsv({"x.pcap", 10, ""}, {sample()});
  EXPECT_EQ(csv.find("expert,outcome,message"), 0u);
  EXPECT_NE(csv.find("demo,informational,Summary,7,10.0.0.1\r\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("expert,Severity,Event,Note,Seen,%,%\r\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\"a, \"\"quoted\"\" value\""), std::string::npos) << csv;
}

}  // namespace
}  // namespace warden::experts
