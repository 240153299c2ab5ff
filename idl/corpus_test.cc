// Every IDL of the shared corpus (Microsoft's published protocol IDLs) loads, with its imports,
// without a single diagnostic. Files the corpus does not have are skipped with a message.
#include <gtest/gtest.h>

#include <filesystem>

#include "idl/compiler.h"

namespace warden::idl {
namespace {

namespace fs = std::filesystem;

const fs::path kCorpus = fs::path(WARDEN_SHARED_DIR) / "idl";

std::vector<std::string> corpusFiles() {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(kCorpus, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".idl") out.push_back(it->path().filename().string());
  }
  std::sort(out.begin(), out.end());
  if (out.empty()) out.push_back("(none)");
  return out;
}

class SharedIdl : public ::testing::TestWithParam<std::string> {};

TEST_P(SharedIdl, LoadsWithoutDiagnostics) {
  if (GetParam() == "(none)") GTEST_SKIP() << "no .idl files in " << kCorpus;
  CompileOptions options;
  options.includeDirs = {kCorpus, kCorpus / "h"};
  Compilation compilation(options);
  ASSERT_TRUE(compilation.load(kCorpus / GetParam()));
  EXPECT_EQ(compilation.diagnostics().format(compilation.sources()), "");
  EXPECT_EQ(compilation.diagnostics().errorCount(), 0u);
  EXPECT_FALSE(compilation.mainModule()->items.empty());
}

INSTANTIATE_TEST_SUITE_P(Corpus, SharedIdl, ::testing::ValuesIn(corpusFiles()),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace warden::idl
