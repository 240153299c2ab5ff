// Every IDL of the shared corpus (Microsoft's published protocol IDLs) loads with its imports,
// passes the semantic checks (no error but the corpus's own, listed in kKnownErrors), its header
// compiles as C and C++, and its generated stubs compile as C++20 or stop only at the #error lines
// that name what the generator does not handle yet (counted in the output). Files the corpus does
// not have are skipped with a message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "idl/compiler.h"
#include "idl/header_emitter.h"
#include "idl/idl_testing.h"
#include "idl/sema.h"
#include "idl/stub_emitter.h"
#include "testsupport/oracle.h"

namespace warden::idl {
namespace {

namespace fs = std::filesystem;

const fs::path kCorpus = fs::path(WARDEN_SHARED_DIR) / "idl";

// The .idl files of `dir` by name, or "(none)" (a test that skips with a message).
std::vector<std::string> idlFilesIn(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".idl") out.push_back(it->path().filename().string());
  }
  std::sort(out.begin(), out.end());
  if (out.empty()) out.push_back("(none)");
  return out;
}

// "ms-dtyp.idl" -> "ms_dtyp_idl": a test name.
std::string testName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

// The corpus's own problems, which MIDL reports too: each is expected, exactly.
// - lsad/lsat define `struct _STRING ... STRING`, which ms-dtyp.idl (which they import) already
//   defines as `typedef UCHAR* STRING`: Microsoft's published IDLs conflict when imported together.
// - go-msrpc edited LSAPR_OBJECT_ATTRIBUTES.RootDirectory into `unsigned char* RootDirectory[]`
//   ("go-msrpc: add array declarator"): an unsized array in the middle of a struct.
const std::map<std::string, std::vector<std::string>> kKnownErrors = {
    {"lsad.idl",
     {"lsad.idl:35:3: error: redefinition of 'STRING' as a different type",
      "lsad.idl:70:19: error: conformant array 'RootDirectory' must be the last member of its "
      "struct"}},
    {"lsat.idl",
     {"lsat.idl:35:3: error: redefinition of 'STRING' as a different type",
      "lsat.idl:70:19: error: conformant array 'RootDirectory' must be the last member of its "
      "struct"}},
};

// go-msrpc's wtypesbase.idl comments out a cpp_quote("#if ...") but keeps its
// cpp_quote("#endif"): the header MIDL writes from it does not compile either.
const std::map<std::string, std::string> kKnownHeaderErrors = {
    {"wtypesbase.idl", "#endif without #if"},
};

class SharedIdl : public ::testing::TestWithParam<std::string> {};

TEST_P(SharedIdl, LoadsWithoutDiagnostics) {
  if (GetParam() == "(none)") GTEST_SKIP() << "no .idl files in " << kCorpus;
  CompileOptions options;
  options.includeDirs = {kCorpus, kCorpus / "h"};
  Compilation compilation(options);
  ASSERT_TRUE(compilation.load(kCorpus / GetParam()));
  check(compilation);
  // Warnings (go-msrpc's own attributes, plain C unions) are allowed and shown; errors are only
  // the known ones.
  std::string text = compilation.diagnostics().format(compilation.sources());
  std::vector<std::string> errors;
  for (std::size_t at = 0; (at = text.find(": error: ", at)) != std::string::npos; ++at) {
    std::size_t start = text.rfind('\n', at);
    start = start == std::string::npos ? 0 : start + 1;
    std::string line = text.substr(start, text.find('\n', at) - start);
    errors.push_back(line.substr(line.rfind('/') + 1));
  }
  auto known = kKnownErrors.find(GetParam());
  EXPECT_EQ(errors, known == kKnownErrors.end() ? std::vector<std::string>{} : known->second)
      << text;
  if (!text.empty()) std::cout << text;
  EXPECT_FALSE(compilation.mainModule()->items.empty());
  if (!errors.empty()) return;  // MIDL writes no header for a file with errors

  // Its header (and those of its imports) compile as C and as C++.
  if (!warden::testing::haveTool("clang") || !warden::testing::haveTool("g++")) {
    GTEST_SKIP() << "g++ or clang not installed";
  }
  std::string dir = warden::testing::makeTempDir("warden-idl-corpus");
  testing::writeHeaders(compilation, dir);
  std::string problems = testing::compileErrors(dir, headerName(GetParam()));
  if (auto k = kKnownHeaderErrors.find(GetParam()); k != kKnownHeaderErrors.end()) {
    EXPECT_NE(problems.find(k->second), std::string::npos) << problems;
  } else {
    EXPECT_EQ(problems, "");
  }

  // Its stubs: every compiler error is one of the generator's own #error lines.
  const std::string path = (kCorpus / GetParam()).string();
  std::ofstream(dir + "/" + clientStubName(path), std::ios::binary)
      << emitClientStub(compilation, path);
  std::ofstream(dir + "/" + serverStubName(path), std::ios::binary)
      << emitServerStub(compilation, path);
  std::map<std::string, int> unsupported;
  for (const std::string& stub : {clientStubName(path), serverStubName(path)}) {
    using warden::testing::shellQuote;
    auto result =
        warden::testing::run(fmt::format("g++ -x c++ -std=c++20 -fsyntax-only -w -I {} -I {} {}",
                                         shellQuote(std::string(WARDEN_SOURCE_DIR) + "/include"),
                                         shellQuote(dir), shellQuote(dir + "/" + stub)),
                             warden::testing::Stderr::kMerge);
    ASSERT_TRUE(result.ok()) << result.status().message();
    std::istringstream lines(result->out);
    for (std::string line; std::getline(lines, line);) {
      if (line.find("error:") == std::string::npos) continue;
      std::size_t at = line.find("#error \"warden idl: ");
      if (at != std::string::npos) {
        // "#error "warden idl: Op.param: a context handle is not generated yet""
        std::string what = line.substr(at + 20);
        what = what.substr(what.find(": ") + 2);
        what = what.substr(0, what.find(" is not generated yet"));
        if (!what.empty() && what.back() == '"') what.pop_back();
        ++unsupported[what];
        continue;
      }
      if (auto k = kKnownHeaderErrors.find(GetParam());
          k != kKnownHeaderErrors.end() && line.find(k->second) != std::string::npos) {
        continue;
      }
      ADD_FAILURE() << stub << ": " << line;
    }
  }
  for (const auto& [what, count] : unsupported) {
    std::cout << GetParam() << ": not generated yet: " << what << " (" << count << ")\n";
  }
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Corpus, SharedIdl, ::testing::ValuesIn(idlFilesIn(kCorpus)), testName);

}  // namespace
}  // namespace warden::idl

namespace warden::idl {
namespace {

// The RPC interface IDLs Debian's libwine-dev installs (only when it is installed: an 800 MB
// dependency CI does not take). They import Wine's own wtypes/objidl/oaidl, COM-heavy files.
const fs::path kWine = "/usr/include/wine/wine";

// Constructs Warden does not support, each expected exactly where it stands.
const std::map<std::string, std::string> kWineUnsupported = {
    {"iaccessible2.idl", "'library' (a COM type library construct) is not supported"},
};

class WineIdl : public ::testing::TestWithParam<std::string> {};

TEST_P(WineIdl, LoadsAndChecks) {
  if (GetParam() == "(none)") GTEST_SKIP() << "libwine-dev is not installed (no " << kWine << ")";
  CompileOptions options;
  options.includeDirs = {kWine / "windows", kWine};
  Compilation compilation(options);
  ASSERT_TRUE(compilation.load(kWine / GetParam()));
  check(compilation);
  std::string text = compilation.diagnostics().format(compilation.sources());
  if (auto k = kWineUnsupported.find(GetParam()); k != kWineUnsupported.end()) {
    EXPECT_NE(text.find(k->second), std::string::npos) << text;
    std::size_t errors = compilation.diagnostics().errorCount();
    std::size_t unsupported = 0;
    for (std::size_t at = 0; (at = text.find(k->second, at)) != std::string::npos; ++at) {
      ++unsupported;
    }
    EXPECT_EQ(errors, unsupported) << text;
    return;
  }
  EXPECT_EQ(compilation.diagnostics().errorCount(), 0u) << text;
  // Its header compiles as C and C++ against Wine's own SDK headers, which stand in for the
  // imports as they do for widl's output.
  if (!warden::testing::haveTool("clang") || !warden::testing::haveTool("g++")) {
    GTEST_SKIP() << "g++ or clang not installed";
  }
  std::string dir = warden::testing::makeTempDir("warden-idl-wine");
  const std::string& path = compilation.sources().file(compilation.mainModule()->file).path;
  std::ofstream(dir + "/" + headerName(path), std::ios::binary)
      << emitHeader(*compilation.mainModule(), path, &compilation.modules());
  EXPECT_EQ(testing::compileErrors(
                dir, headerName(path),
                {(kWine / "windows").string(), (kWine / "msvcrt").string(), kWine.string()},
                /*warningsAllowed=*/true),
            "");
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Wine, WineIdl, ::testing::ValuesIn(idlFilesIn(kWine)), testName);

}  // namespace
}  // namespace warden::idl
