// A hand-written scanner: one pass, no allocation per token beyond the output vector.
#include "idl/lexer.h"

#include <array>

namespace warden::idl {

namespace {

bool identStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}
bool identChar(char c) { return identStart(c) || (c >= '0' && c <= '9'); }
bool digit(char c) { return c >= '0' && c <= '9'; }

constexpr std::array<std::string_view, 13> kTwoCharPuncts = {
    "<<", ">>", "==", "!=", "<=", ">=", "&&", "||", "->", "##", "::", "++", "--"};
constexpr std::string_view kOneCharPuncts = "[](){};,*=<>!~^|&+-/%?:.#";

class Scanner {
 public:
  Scanner(const SourceSet& sources, std::uint32_t file, DiagnosticSink& diagnostics)
      : text_(sources.file(file).text), file_(file), diagnostics_(diagnostics) {}

  std::vector<Token> run(std::size_t maxTokens) {
    std::vector<Token> out;
    bool lineStart = true, space = false;
    while (true) {
      // Whitespace, comments and line joins.
      while (pos_ < text_.size()) {
        char c = text_[pos_];
        if (c == '\n') {
          lineStart = true;
          space = true;
          ++pos_;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
          space = true;
          ++pos_;
        } else if (c == '\\' && next(1) == '\n') {
          pos_ += 2;
        } else if (c == '\\' && next(1) == '\r' && next(2) == '\n') {
          pos_ += 3;
        } else if (c == '/' && next(1) == '/') {
          while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
          space = true;
        } else if (c == '/' && next(1) == '*') {
          std::size_t end = text_.find("*/", pos_ + 2);
          if (end == std::string_view::npos) {
            diagnostics_.error(span(pos_, 2), "unterminated /* comment");
            pos_ = text_.size();
          } else {
            pos_ = end + 2;  // like one space (C): a comment over lines does not start a line
          }
          space = true;
        } else {
          break;
        }
      }
      if (pos_ >= text_.size()) break;
      if (out.size() >= maxTokens) {
        diagnostics_.error(span(pos_, 1), "more than {} tokens in one file", maxTokens);
        break;
      }
      Token t;
      t.lineStart = lineStart;
      t.spaceBefore = space;
      lineStart = space = false;
      if (!scan(t)) continue;
      out.push_back(t);
    }
    Token end;
    end.kind = TokenKind::kEnd;
    end.span = span(text_.size(), 0);
    end.lineStart = true;
    out.push_back(end);
    return out;
  }

 private:
  char next(std::size_t ahead) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  Span span(std::size_t offset, std::size_t length) const {
    return Span{Loc{file_, static_cast<std::uint32_t>(offset)}, static_cast<std::uint32_t>(length)};
  }
  void take(Token& t, TokenKind kind, std::size_t start) {
    t.kind = kind;
    t.text = text_.substr(start, pos_ - start);
    t.span = span(start, pos_ - start);
  }

  // One token at pos_; false (after a diagnostic) for a character that starts none.
  bool scan(Token& t) {
    const std::size_t start = pos_;
    char c = text_[pos_];
    if ((c == 'L' && (next(1) == '"' || next(1) == '\'')) || c == '"' || c == '\'') {
      if (c == 'L') ++pos_;
      char quote = text_[pos_++];
      while (pos_ < text_.size() && text_[pos_] != quote && text_[pos_] != '\n') {
        pos_ += text_[pos_] == '\\' && pos_ + 1 < text_.size() ? 2 : 1;
      }
      if (pos_ >= text_.size() || text_[pos_] != quote) {
        diagnostics_.error(span(start, pos_ - start), "unterminated {} literal",
                           quote == '"' ? "string" : "character");
      } else {
        ++pos_;
      }
      take(t, quote == '"' ? TokenKind::kString : TokenKind::kChar, start);
      return true;
    }
    if (identStart(c)) {
      while (pos_ < text_.size() && identChar(text_[pos_])) ++pos_;
      take(t, TokenKind::kIdentifier, start);
      return true;
    }
    if (digit(c) || (c == '.' && digit(next(1)))) {
      while (pos_ < text_.size() && (identChar(text_[pos_]) || text_[pos_] == '.')) ++pos_;
      take(t, TokenKind::kNumber, start);
      return true;
    }
    for (std::string_view p : kTwoCharPuncts) {
      if (text_.compare(pos_, 2, p) == 0) {
        pos_ += 2;
        take(t, TokenKind::kPunct, start);
        return true;
      }
    }
    if (kOneCharPuncts.find(c) != std::string_view::npos) {
      ++pos_;
      take(t, TokenKind::kPunct, start);
      return true;
    }
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      diagnostics_.error(span(start, 1), "unexpected character '{}'", c);
    } else {
      diagnostics_.error(span(start, 1), "unexpected byte 0x{:02x}", byte);
    }
    ++pos_;
    return false;
  }

  std::string_view text_;
  std::uint32_t file_;
  DiagnosticSink& diagnostics_;
  std::size_t pos_ = 0;
};

}  // namespace

std::vector<Token> lex(const SourceSet& sources, std::uint32_t file, DiagnosticSink& diagnostics,
                       std::size_t maxTokens) {
  return Scanner(sources, file, diagnostics).run(maxTokens);
}

std::string unquote(std::string_view token) {
  if (!token.empty() && token.front() == 'L') token.remove_prefix(1);
  if (token.size() >= 2) token = token.substr(1, token.size() - 2);
  std::string out;
  out.reserve(token.size());
  for (std::size_t i = 0; i < token.size(); ++i) {
    char c = token[i];
    if (c != '\\' || i + 1 == token.size()) {
      out += c;
      continue;
    }
    char e = token[++i];
    switch (e) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '0':
        out += '\0';
        break;
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'v':
        out += '\v';
        break;
      default:
        out += e;  // \\ \" \' \? and anything else: the character itself
    }
  }
  return out;
}

}  // namespace warden::idl
