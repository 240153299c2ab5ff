// Test helpers of the IDL tests: write the headers of a compilation and ask real compilers
// (g++ as C++17, clang as C11) whether a header is valid.
#pragma once

#include <string>
#include <vector>

#include "idl/compiler.h"

namespace warden::idl::testing {

// Writes the header of every module of `compilation` into `dir`.
void writeHeaders(const Compilation& compilation, const std::string& dir);

// "" when `header` (in `dir`) compiles with g++ -x c++ and clang -x c (-fsyntax-only, with
// Warden's include/, `dir` and `extraIncludes` on the path); else the compilers' complaints. A
// warning counts too unless `warningsAllowed` (another SDK's headers warn about themselves).
std::string compileErrors(const std::string& dir, const std::string& header,
                          const std::vector<std::string>& extraIncludes = {},
                          bool warningsAllowed = false);

// "" when the C++ file `source` (in `dir`) compiles with g++ -std=c++17 -Wall (-fsyntax-only).
std::string compileCxx(const std::string& dir, const std::string& source);

}  // namespace warden::idl::testing
