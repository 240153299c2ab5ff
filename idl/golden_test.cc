// Golden diagnostics: idl/testdata/errors/X.idl must produce exactly X.expected (paths relative
// to idl/testdata). WARDEN_UPDATE_GOLDENS=1 rewrites the expected files; review the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "idl/compiler.h"
#include "idl/header_emitter.h"
#include "idl/idl_testing.h"
#include "idl/levels.h"
#include "idl/sema.h"
#include "idl/stub_emitter.h"
#include "testsupport/oracle.h"

namespace warden::idl {
namespace {

namespace fs = std::filesystem;

const fs::path kTestdata = fs::path(WARDEN_SOURCE_DIR) / "idl" / "testdata";

std::vector<std::string> filesIn(const char* folder) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(kTestdata / folder)) {
    if (entry.path().extension() == ".idl") out.push_back(entry.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string readText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class ErrorGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(ErrorGolden, DiagnosticsMatchExpected) {
  Compilation compilation(CompileOptions{});
  compilation.load(kTestdata / "errors" / (GetParam() + ".idl"));
  check(compilation);
  std::string text = compilation.diagnostics().format(compilation.sources());
  const std::string prefix = (kTestdata / "").string();
  for (std::size_t at; (at = text.find(prefix)) != std::string::npos;)
    text.erase(at, prefix.size());
  fs::path expected = kTestdata / "errors" / (GetParam() + ".expected");
  if (std::getenv("WARDEN_UPDATE_GOLDENS")) {
    std::ofstream(expected, std::ios::binary) << text;
  }
  EXPECT_EQ(text, readText(expected));
  EXPECT_GT(compilation.diagnostics().errorCount(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Errors, ErrorGolden, ::testing::ValuesIn(filesIn("errors")));

// generate/X.idl checks clean; its header is exactly generate/X.h.expected and compiles as C and
// C++; its levels IR is exactly generate/X.ir.expected; its stubs' skeleton is exactly
// X_c.cc.expected and X_s.cc.expected and compiles with g++.
class HeaderGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(HeaderGolden, HeaderMatchesExpectedAndCompiles) {
  fs::path idl = kTestdata / "generate" / (GetParam() + ".idl");
  Compilation compilation(CompileOptions{});
  ASSERT_TRUE(compilation.load(idl));
  check(compilation);
  ASSERT_EQ(compilation.diagnostics().format(compilation.sources()), "");
  std::string header = emitHeader(*compilation.mainModule(), idl.string(), &compilation.modules());
  fs::path expected = kTestdata / "generate" / (GetParam() + ".h.expected");
  if (std::getenv("WARDEN_UPDATE_GOLDENS")) std::ofstream(expected, std::ios::binary) << header;
  EXPECT_EQ(header, readText(expected));
  std::string levels = ir::dump(ir::build(compilation));
  fs::path expectedLevels = kTestdata / "generate" / (GetParam() + ".ir.expected");
  if (std::getenv("WARDEN_UPDATE_GOLDENS")) {
    std::ofstream(expectedLevels, std::ios::binary) << levels;
  }
  EXPECT_EQ(levels, readText(expectedLevels));
  const std::string client = emitClientStub(compilation, idl.string());
  const std::string server = emitServerStub(compilation, idl.string());
  for (const auto& [text, suffix] : {std::pair{&client, "_c.cc"}, std::pair{&server, "_s.cc"}}) {
    fs::path expectedStub = kTestdata / "generate" / (GetParam() + suffix + ".expected");
    if (std::getenv("WARDEN_UPDATE_GOLDENS")) {
      std::ofstream(expectedStub, std::ios::binary) << *text;
    }
    EXPECT_EQ(*text, readText(expectedStub)) << suffix;
  }
  if (!warden::testing::haveTool("clang") || !warden::testing::haveTool("g++")) {
    GTEST_SKIP() << "g++ or clang not installed";
  }
  std::string dir = warden::testing::makeTempDir("warden-idl-golden");
  testing::writeHeaders(compilation, dir);
  EXPECT_EQ(testing::compileErrors(dir, headerName(idl.string())), "");
  std::ofstream(dir + "/" + clientStubName(idl.string()), std::ios::binary) << client;
  std::ofstream(dir + "/" + serverStubName(idl.string()), std::ios::binary) << server;
  EXPECT_EQ(testing::compileCxx(dir, clientStubName(idl.string())), "");
  EXPECT_EQ(testing::compileCxx(dir, serverStubName(idl.string())), "");
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Generate, HeaderGolden, ::testing::ValuesIn(filesIn("generate")));

}  // namespace
}  // namespace warden::idl
