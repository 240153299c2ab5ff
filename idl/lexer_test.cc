// The lexer and the preprocessor on small inputs: token kinds and spans, MIDL's UUIDs and version
// numbers, directives, macro expansion and its limits, and the errors each reports.
#include "idl/lexer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "idl/preprocessor.h"

namespace warden::idl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> texts(const std::vector<Token>& tokens) {
  std::vector<std::string> out;
  for (const Token& t : tokens) {
    if (t.kind != TokenKind::kEnd) out.emplace_back(t.text);
  }
  return out;
}

TEST(Lexer, TokensSpansAndLineStarts) {
  SourceSet sources;
  std::uint32_t f = sources.add("a.idl",
                                "[uuid(12345778-1234-ABCD-EF00-0123456789AB), version(1.0)]\n"
                                "  interface x { /* c\n */ long f([in] short a); } // end\n"
                                "L\"w\\\"s\" 'c' 0x1Fu a->b <<= \\\nq");
  DiagnosticSink d;
  std::vector<Token> t = lex(sources, f, d);
  EXPECT_EQ(d.errorCount(), 0u);
  EXPECT_THAT(texts(t),
              ElementsAre("[", "uuid", "(", "12345778", "-", "1234", "-", "ABCD", "-", "EF00", "-",
                          "0123456789AB", ")", ",", "version", "(", "1.0", ")", "]", "interface",
                          "x", "{", "long", "f", "(", "[", "in", "]", "short", "a", ")", ";", "}",
                          "L\"w\\\"s\"", "'c'", "0x1Fu", "a", "->", "b", "<<", "=", "q"));
  EXPECT_TRUE(t[0].lineStart);
  EXPECT_TRUE(t[19].lineStart);  // interface
  EXPECT_FALSE(t[22].lineStart) << "a comment over lines counts as one space, as in C";
  EXPECT_TRUE(t[33].lineStart);  // L"..."
  EXPECT_EQ(t.back().kind, TokenKind::kEnd);
  EXPECT_EQ(sources.lineCol(t[19].span.begin).line, 2u);
  EXPECT_EQ(sources.lineCol(t[19].span.begin).column, 3u);
  EXPECT_EQ(unquote(t[33].text), "w\"s");
  EXPECT_FALSE(t[41].lineStart) << "a backslash-newline joins the lines";
}

TEST(Lexer, ErrorsNameTheirPlace) {
  SourceSet sources;
  std::uint32_t f = sources.add("bad.idl", "long a;\n  @ \"open\n/* never closed");
  DiagnosticSink d;
  lex(sources, f, d);
  EXPECT_EQ(d.errorCount(), 3u);
  EXPECT_EQ(d.format(sources),
            "bad.idl:2:3: error: unexpected character '@'\n"
            "    2 |   @ \"open\n"
            "      |   ^\n"
            "bad.idl:2:5: error: unterminated string literal\n"
            "    2 |   @ \"open\n"
            "      |     ^~~~~\n"
            "bad.idl:3:1: error: unterminated /* comment\n"
            "    3 | /* never closed\n"
            "      | ^~\n");
}

// Preprocesses `main` with `files` available to #include.
struct Pre {
  SourceSet sources;
  DiagnosticSink diagnostics;
  std::vector<Token> tokens;
  Pre(std::string main, std::map<std::string, std::string> files = {},
      PreprocessorOptions options = {}) {
    std::uint32_t f = sources.add("main.idl", std::move(main));
    IncludeLoader loader = [&](std::string_view name, Span where) -> std::optional<std::uint32_t> {
      auto it = files.find(std::string(name));
      if (it == files.end()) {
        diagnostics.error(where, "no {}", name);
        return std::nullopt;
      }
      return sources.add(it->first, it->second);
    };
    tokens = preprocess(sources, f, diagnostics, options, loader);
  }
  std::string joined() const {
    std::string s;
    for (const std::string& t : texts(tokens)) s += (s.empty() ? "" : " ") + t;
    return s;
  }
};

TEST(Preprocessor, MacrosConditionalsAndIncludes) {
  Pre p(
      "#define N 4\n"
      "#define TWICE(x) ((x) * 2)\n"
      "#define EMPTY\n"
      "a[TWICE(N + 1)] EMPTY;\n"
      "#if defined(N) && N > 3 && !defined(NOPE)\n"
      "yes1\n"
      "#elif 1\n"
      "no\n"
      "#else\n"
      "#error not reached\n"
      "#endif\n"
      "#ifdef __midl\n"
      "midl __midl\n"
      "#endif\n"
      "#ifndef N\n"
      "#  if garbage ( here\n"  // skipped: never evaluated
      "no\n"
      "#  endif\n"
      "#endif\n"
      "#include \"inc.h\"\n"
      "#undef N\n"
      "N\n"
      "#pragma pack(4)\n"
      "#pragma midl_echo(\"#define X 1\")\n",
      {{"inc.h", "#define FROM_INC 7\nfrom_inc FROM_INC\n"}});
  EXPECT_EQ(p.diagnostics.format(p.sources), "");
  EXPECT_EQ(p.joined(),
            "a [ ( ( 4 + 1 ) * 2 ) ] ; yes1 midl 801 from_inc 7 N cpp_quote ( \"#define X 1\" )");
}

TEST(Preprocessor, PastingAndStringizing) {
  // Wine's wtypes.idl: DECLARE_WIREM_HANDLE(HWND) pastes wire names.
  Pre p(
      "#define DECLARE_WIREM_HANDLE(N) typedef [unique] struct _Remotable##N *wire##N\n"
      "#define STR(x) #x\n"
      "#define CAT3(a, b, c) a ## b ## c\n"
      "DECLARE_WIREM_HANDLE(HWND);\n"
      "STR(a  \"q\" + 1) CAT3(x, 1, y) CAT3(, only, )\n");
  EXPECT_EQ(p.diagnostics.format(p.sources), "");
  EXPECT_EQ(p.joined(),
            "typedef [ unique ] struct _RemotableHWND * wireHWND ; \"a \\\"q\\\" + 1\" x1y only");
  Pre bad("#define BAD(a) a ## +\nBAD(-)\n#define END(a) a ##\nEND(x)\n");
  std::string text = bad.diagnostics.format(bad.sources);
  EXPECT_THAT(text, HasSubstr("pasting '-' and '+' in macro 'BAD' does not give one token"));
  EXPECT_THAT(text, HasSubstr("macro 'END' ends with '##'"));
}

TEST(Preprocessor, CommandLineDefinesAndUndefines) {
  PreprocessorOptions options;
  options.defines = {{"MIDL_PASS", ""}, {"SIZE", "16"}};
  options.undefines = {"__midl"};
  Pre p("#ifdef MIDL_PASS\npass SIZE MIDL_PASS\n#endif\n#ifdef __midl\nmidl\n#endif\n", {},
        options);
  EXPECT_EQ(p.diagnostics.errorCount(), 0u);
  EXPECT_EQ(p.joined(), "pass 16 1");
}

TEST(Preprocessor, HostileInputIsBoundedAndNamed) {
  // Self-reference stops; an exponential macro bomb hits the token limit instead of the memory.
  Pre self("#define A A + 1\nA\n");
  EXPECT_EQ(self.joined(), "A + 1");
  std::string bomb;
  for (int i = 0; i < 40; ++i) bomb += fmt::format("#define M{} M{} M{}\n", i, i + 1, i + 1);
  bomb += "M0\n";
  PreprocessorOptions small;
  small.maxTokens = 100000;
  Pre p(bomb, {}, small);
  EXPECT_THAT(p.diagnostics.format(p.sources),
              HasSubstr("the preprocessed text passes 100000 tokens"));
  EXPECT_LE(p.tokens.size(), 100001u);

  Pre unbalanced("#if 1\n#else\n#else\n#endif\n#endif\n#if (1\n#endif\n#if 1/0\n#endif\n#if\n");
  std::string text = unbalanced.diagnostics.format(unbalanced.sources);
  EXPECT_THAT(text, HasSubstr("main.idl:3:2: error: #else after #else"));
  EXPECT_THAT(text, HasSubstr("main.idl:5:2: error: #endif without #if"));
  EXPECT_THAT(text, HasSubstr("'(' without ')' in #if"));
  EXPECT_THAT(text, HasSubstr("division by zero in #if"));
  EXPECT_THAT(text, HasSubstr("#if without #endif"));

  Pre missing("#include \"nope.h\"\n#frobnicate\n#define F(a) a\nF(1, 2)\n#error stop here\n");
  text = missing.diagnostics.format(missing.sources);
  EXPECT_THAT(text, HasSubstr("main.idl:1:2: error: no nope.h"));
  EXPECT_THAT(text, HasSubstr("unknown preprocessor directive '#frobnicate'"));
  EXPECT_THAT(text, HasSubstr("macro 'F' takes 1 arguments, given 2"));
  EXPECT_THAT(text, HasSubstr("main.idl:5:2: error: #error stop here"));

  Pre recursive("#include \"self.h\"\n", {{"self.h", "#include \"self.h\"\n"}});
  EXPECT_THAT(recursive.diagnostics.format(recursive.sources),
              HasSubstr("#include nested deeper than 64"));
  EXPECT_EQ(recursive.diagnostics.errorCount(), 1u);
  // A file included ten times a level, four levels deep, is 10^4 files: the token budget shared
  // by every included file stops it early (fuzzing found the exponential case).
  std::map<std::string, std::string> fanOut;
  for (char level : std::string("abcd")) {
    std::string text;
    for (int i = 0; i < 10; ++i) text += fmt::format("#include \"{}.h\"\n", char(level + 1));
    fanOut[fmt::format("{}.h", level)] = text;
  }
  fanOut["e.h"] = "one two three four five six seven eight nine ten\n";
  PreprocessorOptions budget;
  budget.maxTokens = 50000;
  Pre includes("#include \"a.h\"\n", fanOut, budget);
  EXPECT_THAT(includes.diagnostics.format(includes.sources),
              HasSubstr("the preprocessed text passes 50000 tokens"));
  EXPECT_EQ(includes.diagnostics.errorCount(), 1u);
  EXPECT_LT(includes.sources.size(), 5000u);
}

TEST(Preprocessor, IntegerLiterals) {
  std::uint64_t v = 0;
  EXPECT_TRUE(parseInteger("0x7FFFFFFF", v));
  EXPECT_EQ(v, 0x7fffffffu);
  EXPECT_TRUE(parseInteger("010", v));
  EXPECT_EQ(v, 8u);
  EXPECT_TRUE(parseInteger("4294967295UL", v));
  EXPECT_EQ(v, 4294967295u);
  EXPECT_FALSE(parseInteger("0x", v));
  EXPECT_FALSE(parseInteger("1.0", v));
  EXPECT_FALSE(parseInteger("99999999999999999999999", v));
  EXPECT_FALSE(parseInteger("08", v));
}

}  // namespace
}  // namespace warden::idl
