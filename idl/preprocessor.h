// The C preprocessor MIDL runs before it parses: #define (object- and function-like) and #undef,
// #if/#ifdef/#ifndef/#elif/#else/#endif, #include (textual, through the caller's loader),
// #pragma midl_echo (as cpp_quote), #error; __midl is predefined. As with MIDL, macros are
// expanded and vanish: they never reach the generated header (use const or cpp_quote for that).
// Each imported file is preprocessed on its own.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "idl/diagnostics.h"
#include "idl/lexer.h"
#include "idl/source.h"

namespace warden::idl {

struct PreprocessorOptions {
  std::vector<std::pair<std::string, std::string>> defines;  // -D NAME[=VALUE] (VALUE "1")
  std::vector<std::string> undefines;                        // -U NAME
  std::size_t maxIncludeDepth = 64;
  std::size_t maxMacroDepth = 200;
  std::size_t maxTokens = 4'000'000;  // after expansion, per file
};

// Loads the file an #include names (quoted or <angled>) and returns its SourceSet index, or
// nullopt after reporting why at `where`.
using IncludeLoader =
    std::function<std::optional<std::uint32_t>(std::string_view name, Span where)>;

// Tokens of `file` after preprocessing, ending with one kEnd token.
std::vector<Token> preprocess(SourceSet& sources, std::uint32_t file, DiagnosticSink& diagnostics,
                              const PreprocessorOptions& options, const IncludeLoader& loader);

// A C integer literal (decimal, 0x hex, 0 octal; u/l suffixes) or false.
bool parseInteger(std::string_view text, std::uint64_t& value);

}  // namespace warden::idl
