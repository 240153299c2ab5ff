// The compilers run through the shell (testsupport::run): the same commands a user types.
#include "idl/idl_testing.h"

#include <fstream>

#include "idl/header_emitter.h"
#include "testsupport/oracle.h"

namespace warden::idl::testing {

void writeHeaders(const Compilation& compilation, const std::string& dir) {
  for (const ast::Module& m : compilation.modules()) {
    const std::string& path = compilation.sources().file(m.file).path;
    std::ofstream(dir + "/" + headerName(path), std::ios::binary)
        << emitHeader(m, path, &compilation.modules());
  }
}

std::string compileErrors(const std::string& dir, const std::string& header,
                          const std::vector<std::string>& extraIncludes, bool warningsAllowed) {
  using warden::testing::shellQuote;
  std::string includes =
      "-I " + shellQuote(std::string(WARDEN_SOURCE_DIR) + "/include") + " -I " + shellQuote(dir);
  for (const std::string& extra : extraIncludes) includes += " -I " + shellQuote(extra);
  std::string problems;
  for (const char* compiler : {"g++ -x c++ -std=c++17", "clang -x c -std=c11"}) {
    std::string command =
        fmt::format("{} -fsyntax-only {} {} {}", compiler, warningsAllowed ? "-w" : "-Wall",
                    includes, shellQuote(dir + "/" + header));
    auto result = warden::testing::run(command, warden::testing::Stderr::kMerge);
    if (!result.ok()) return std::string(result.status().message());
    if (result->exitCode != 0 || !result->out.empty()) {
      problems += fmt::format("{}:\n{}", command, result->out);
    }
  }
  return problems;
}

std::string compileCxx(const std::string& dir, const std::string& source) {
  using warden::testing::shellQuote;
  std::string command =
      fmt::format("g++ -x c++ -std=c++20 -fsyntax-only -Wall -Wextra -I {} -I {} {}",
                  shellQuote(std::string(WARDEN_SOURCE_DIR) + "/include"), shellQuote(dir),
                  shellQuote(dir + "/" + source));
  auto result = warden::testing::run(command, warden::testing::Stderr::kMerge);
  if (!result.ok()) return std::string(result.status().message());
  return result->exitCode == 0 && result->out.empty() ? "" : command + ":\n" + result->out;
}

}  // namespace warden::idl::testing
