// Fuzzes the IDL front end: the input is an IDL file that may #include "self.h" (itself again, to
// reach the include limit) or "other.h" (a small fixed header), then preprocessing and parsing (as
// IDL and as ACF) with small limits. Nothing may crash, hang or recurse without bound; every error
// must have a span inside a file of the compilation.
#include <cstdint>
#include <string>

#include "idl/parser.h"
#include "idl/preprocessor.h"

namespace idl = warden::idl;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  idl::SourceSet sources;
  idl::DiagnosticSink diagnostics;
  std::uint32_t main = sources.add("fuzz.idl", text);
  idl::PreprocessorOptions options;
  options.maxTokens = 200'000;
  options.maxIncludeDepth = 8;
  idl::IncludeLoader loader = [&](std::string_view name,
                                  idl::Span) -> std::optional<std::uint32_t> {
    if (name == "self.h") return sources.add("self.h", text);
    if (name == "other.h") return sources.add("other.h", "#define OTHER 2\ntypedef long L;\n");
    return std::nullopt;
  };
  std::vector<idl::Token> tokens = idl::preprocess(sources, main, diagnostics, options, loader);
  idl::ast::Module module;
  idl::parse(tokens, module, diagnostics, idl::ParseOptions{.maxDepth = 100});
  idl::ast::Module acf;  // the same text read as an application configuration file
  idl::parseAcf(tokens, acf, diagnostics, idl::ParseOptions{.maxDepth = 100});
  for (const idl::Diagnostic& d : diagnostics.diagnostics()) {
    if (d.span.begin.file >= sources.size()) __builtin_trap();
    if (d.span.begin.offset > sources.file(d.span.begin.file).text.size()) __builtin_trap();
  }
  (void)diagnostics.format(sources);
  return 0;
}
