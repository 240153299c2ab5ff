// The MIDL parser: preprocessed tokens of one file -> ast::Module. Syntax errors are reported and
// the parser resynchronises at the next ';' or '}', so one run reports every error it can.
// Nesting (expressions, declarators, nested struct bodies) is bounded by maxDepth.
#pragma once

#include <span>

#include "idl/ast.h"
#include "idl/diagnostics.h"
#include "idl/lexer.h"

namespace warden::idl {

struct ParseOptions {
  std::size_t maxDepth = 200;
};

// `tokens` ends with kEnd (as preprocess() returns them).
void parse(std::span<const Token> tokens, ast::Module& module, DiagnosticSink& diagnostics,
           const ParseOptions& options = {});

// An application configuration file: `[attrs] interface NAME { typedef [attrs] NAME; include
// "x.h"; [attrs] Operation([attrs] param, ...); }`, into module.acf.
void parseAcf(std::span<const Token> tokens, ast::Module& module, DiagnosticSink& diagnostics,
              const ParseOptions& options = {});

}  // namespace warden::idl
