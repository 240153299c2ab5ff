#include "experts/options.h"

#include <gtest/gtest.h>

namespace warden::experts {
namespace {

TEST(Options, KeyValueListsWithQuotesAndBothSeparators) {
  auto o = Options::parse(" field=tcp.window_size_value, bit=3;label=\"a,b\" ");
  ASSERT_TRUE(o.ok()) << o.status().toString();
  EXPECT_EQ(*o->find("field"), "tcp.window_size_value");
  EXPECT_EQ(*o->find("bit"), "3");
  EXPECT_EQ(*o->find("label"), "a,b");
  EXPECT_EQ(o->find("other"), nullptr);
  EXPECT_TRUE(o->unused().empty());
}

TEST(Options, JsonObjectsFlattenToText) {
  auto o = Options::parse(R"({"field": "ip.ttl", "top": 10, "both": true})");
  ASSERT_TRUE(o.ok()) << o.status().toString();
  EXPECT_EQ(*o->find("field"), "ip.ttl");
  EXPECT_EQ(*o->find("top"), "10");
  EXPECT_EQ(o->unused(), std::vector<std::string>{"both"});
}

TEST(Options, ErrorsNameTheColumn) {
  EXPECT_EQ(std::string(Options::parse("a=1,b").status().message()),
            "options, column 5: option 'b' needs a value (name=value)");
  EXPECT_NE(Options::parse("a=\"open").status().toString().find("column 3: unterminated quote"),
            std::string::npos);
  EXPECT_NE(Options::parse("a=1,a=2").status().toString().find("given twice"), std::string::npos);
  EXPECT_NE(Options::parse("{\"a\": ").status().toString().find("not a valid JSON object"),
            std::string::npos);
  EXPECT_NE(Options::parse("=3").status().toString().find("without a name"), std::string::npos);
}

TEST(Options, EmptyTextIsNoOptions) {
  auto o = Options::parse("  ");
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->empty());
}

}  // namespace
}  // namespace warden::experts
