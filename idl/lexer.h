// The IDL lexer: C-like tokens over one source file. Comments vanish; a backslash-newline joins
// lines; every token knows whether it starts a line, which is how the preprocessor finds its
// directives. Bad characters and unterminated strings or comments are reported and skipped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "idl/diagnostics.h"
#include "idl/source.h"

namespace warden::idl {

enum class TokenKind : std::uint8_t {
  kIdentifier,
  kNumber,  // a C "pp-number": 42, 0x1F, 10UL, 1.0 (version numbers), 0123456789AB (UUID parts)
  kString,  // "text" or L"text", quotes included in text
  kChar,    // 'c'
  kPunct,   // [ ] ( ) { } ; , * = < > << >> == != <= >= && || ! ~ ^ | & + - / % ? : . -> # ##
  kEnd,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string_view text;     // a view into the SourceSet (for macro expansions: the definition)
  Span span;                 // where the user sees it (for macro expansions: the use)
  bool lineStart = false;    // first token of its line
  bool spaceBefore = false;  // whitespace or a comment before it (for UUID and text rebuilding)

  bool is(std::string_view punct) const { return kind == TokenKind::kPunct && text == punct; }
  bool isIdentifier(std::string_view name) const {
    return kind == TokenKind::kIdentifier && text == name;
  }
};

// Every token of `file`, ending with one kEnd. `maxTokens` bounds hostile input (an error past it).
std::vector<Token> lex(const SourceSet& sources, std::uint32_t file, DiagnosticSink& diagnostics,
                       std::size_t maxTokens = 4'000'000);

// The value of a string token: quotes and the L prefix removed, C escapes decoded.
std::string unquote(std::string_view stringToken);

}  // namespace warden::idl
