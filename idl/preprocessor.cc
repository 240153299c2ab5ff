// Directives are handled a line at a time; the text between two directives is macro-expanded as
// one run, so a function-like macro's arguments may span lines. Expansion keeps the use site's
// span on every token it produces and refuses to recurse into a macro being expanded.
#include "idl/preprocessor.h"

#include <map>
#include <set>
#include <span>

namespace warden::idl {

bool parseInteger(std::string_view text, std::uint64_t& value) {
  while (!text.empty() &&
         (text.back() == 'u' || text.back() == 'U' || text.back() == 'l' || text.back() == 'L')) {
    text.remove_suffix(1);
  }
  if (text.empty()) return false;
  unsigned base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  } else if (text.size() > 1 && text[0] == '0') {
    base = 8;
    text.remove_prefix(1);
  }
  std::uint64_t v = 0;
  for (char c : text) {
    unsigned d;
    if (c >= '0' && c <= '9') {
      d = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return false;
    }
    if (d >= base || v > (UINT64_MAX - d) / base) return false;
    v = v * base + d;
  }
  value = v;
  return true;
}

namespace {

struct Macro {
  bool functionLike = false;
  std::vector<std::string_view> params;
  std::vector<Token> body;
};

// The predefined value of __midl: MIDL 8.01 (its version as major * 100 + minor).
constexpr std::string_view kMidlVersion = "801";

class Preprocessor {
 public:
  Preprocessor(SourceSet& sources, DiagnosticSink& diagnostics, const PreprocessorOptions& options,
               const IncludeLoader& loader)
      : sources_(sources), diagnostics_(diagnostics), options_(options), loader_(loader) {
    define("__midl", kMidlVersion);
    for (const auto& [name, value] : options.defines) define(name, value.empty() ? "1" : value);
    for (const std::string& name : options.undefines) macros_.erase(name);
  }

  std::vector<Token> run(std::uint32_t file) {
    process(file, 0);
    if (!conditions_.empty()) {
      diagnostics_.error(conditions_.back().where, "#{} without #endif", "if");
    }
    Token end;
    end.kind = TokenKind::kEnd;
    const SourceFile& f = sources_.file(file);
    end.span = Span{Loc{file, static_cast<std::uint32_t>(f.text.size())}, 0};
    end.lineStart = true;
    out_.push_back(end);
    return std::move(out_);
  }

 private:
  struct Condition {
    bool active;    // this branch's tokens are kept
    bool taken;     // some branch of this #if was active
    bool parentOn;  // the enclosing text is kept
    bool sawElse;
    Span where;
  };

  // Text from `name` in the options (no source file): lexed from an owned copy.
  void define(std::string_view name, std::string_view value) {
    std::uint32_t file = sources_.add("<command line>", std::string(value));
    DiagnosticSink ignored;
    std::vector<Token> tokens = lex(sources_, file, ignored);
    tokens.pop_back();  // kEnd
    Macro m;
    m.body = std::move(tokens);
    ownedNames_.push_back(std::string(name));
    macros_[ownedNames_.back()] = std::move(m);
  }

  bool on() const { return conditions_.empty() || conditions_.back().active; }

  void process(std::uint32_t file, std::size_t depth) {
    if (tooMany_) return;
    std::vector<Token> tokens = lex(sources_, file, diagnostics_, options_.maxTokens);
    // Every file #included counts against one budget: a file that includes itself twice per level
    // would otherwise cost 2^depth.
    lexed_ += tokens.size();
    if (lexed_ > options_.maxTokens) {
      diagnostics_.error(tokens.front().span, "the preprocessed text passes {} tokens",
                         options_.maxTokens);
      tooMany_ = true;
      return;
    }
    const std::size_t conditionsAtStart = conditions_.size();
    std::vector<Token> run;  // text since the last directive
    std::size_t i = 0;
    while (tokens[i].kind != TokenKind::kEnd && !tooMany_) {
      if (tokens[i].is("#") && tokens[i].lineStart) {
        flush(run);
        std::size_t end = i + 1;
        while (tokens[end].kind != TokenKind::kEnd && !tokens[end].lineStart) ++end;
        directive(std::span<const Token>(tokens.data() + i, end - i), depth);
        i = end;
        continue;
      }
      if (on()) run.push_back(tokens[i]);
      ++i;
    }
    flush(run);
    if (conditions_.size() > conditionsAtStart) {
      diagnostics_.error(conditions_.back().where, "#if without #endif in this file");
      conditions_.resize(conditionsAtStart);
    }
  }

  void flush(std::vector<Token>& run) {
    if (run.empty()) return;
    std::set<std::string_view> active;
    expand(run, active, 0, out_);
    run.clear();
  }

  // Appends `in` with its macros expanded to `out`.
  void expand(const std::vector<Token>& in, std::set<std::string_view>& active, std::size_t depth,
              std::vector<Token>& out) {
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (out_.size() + out.size() > options_.maxTokens) {
        if (!tooMany_)
          diagnostics_.error(in[i].span, "the preprocessed text passes {} tokens",
                             options_.maxTokens);
        tooMany_ = true;
        return;
      }
      const Token& t = in[i];
      auto it = t.kind == TokenKind::kIdentifier ? macros_.find(t.text) : macros_.end();
      if (it == macros_.end() || active.count(t.text)) {
        out.push_back(t);
        continue;
      }
      const Macro& m = it->second;
      std::vector<std::vector<Token>> args;
      if (m.functionLike) {
        if (i + 1 >= in.size() || !in[i + 1].is("(")) {
          out.push_back(t);  // the name alone is not an invocation
          continue;
        }
        std::size_t j = i + 2;
        int level = 0;
        args.emplace_back();
        for (; j < in.size(); ++j) {
          if (in[j].is("(")) ++level;
          if (in[j].is(")") && level-- == 0) break;
          if (in[j].is(",") && level == 0) {
            args.emplace_back();
            continue;
          }
          args.back().push_back(in[j]);
        }
        if (j >= in.size()) {
          diagnostics_.error(t.span, "unterminated arguments of macro '{}'", t.text);
          return;
        }
        if (args.size() == 1 && args[0].empty() && m.params.empty()) args.clear();
        if (args.size() != m.params.size()) {
          diagnostics_.error(t.span, "macro '{}' takes {} arguments, given {}", t.text,
                             m.params.size(), args.size());
          i = j;
          continue;
        }
        i = j;
      }
      if (depth >= options_.maxMacroDepth) {
        diagnostics_.error(t.span, "macros nested deeper than {}", options_.maxMacroDepth);
        return;
      }
      std::vector<Token> body;
      if (!substitute(m, t, args, active, depth, body)) return;
      if (!body.empty()) body.front().spaceBefore = t.spaceBefore;
      active.insert(t.text);
      expand(body, active, depth + 1, out);
      active.erase(t.text);
    }
  }

  // The replacement list of `m` used at `use` with `args`: parameters replaced by their expanded
  // arguments, #param by the argument's spelling as a string, a ## b by one pasted token (the
  // operands of # and ## are not expanded, as in C). False after an error.
  bool substitute(const Macro& m, const Token& use, const std::vector<std::vector<Token>>& args,
                  std::set<std::string_view>& active, std::size_t depth, std::vector<Token>& body) {
    auto paramOf = [&](const Token& b) {
      if (b.kind == TokenKind::kIdentifier) {
        for (std::size_t p = 0; p < m.params.size(); ++p) {
          if (m.params[p] == b.text) return p;
        }
      }
      return m.params.size();
    };
    auto atUse = [&](Token copy) {
      copy.span = use.span;
      copy.lineStart = false;
      return copy;
    };
    // An operand of ##: the argument's own tokens, or the token itself.
    auto operand = [&](const Token& b) {
      std::size_t p = paramOf(b);
      if (p < m.params.size()) return args[p];
      return std::vector<Token>{atUse(b)};
    };
    const std::vector<Token>& list = m.body;
    for (std::size_t j = 0; j < list.size(); ++j) {
      const Token& b = list[j];
      if (b.is("#") && m.functionLike && j + 1 < list.size() &&
          paramOf(list[j + 1]) < m.params.size()) {
        std::string text = "\"";
        for (const Token& a : args[paramOf(list[j + 1])]) {
          if (text.size() > 1 && a.spaceBefore) text += ' ';
          for (char c : a.text) {
            if ((c == '"' || c == '\\') && a.kind != TokenKind::kIdentifier) text += '\\';
            text += c;
          }
        }
        text += '"';
        body.push_back(atUse(made(text, use)));
        ++j;
        continue;
      }
      if (j + 1 < list.size() && list[j + 1].is("##")) {
        std::vector<Token> pasted = operand(b);
        while (j + 1 < list.size() && list[j + 1].is("##")) {
          if (j + 2 >= list.size()) {
            diagnostics_.error(use.span, "macro '{}' ends with '##'", use.text);
            return false;
          }
          std::vector<Token> right = operand(list[j + 2]);
          if (!pasted.empty() && !right.empty()) {
            std::string text = std::string(pasted.back().text) + std::string(right.front().text);
            Token joined = made(text, use);
            if (joined.kind == TokenKind::kEnd) {
              diagnostics_.error(use.span,
                                 "pasting '{}' and '{}' in macro '{}' does not give one "
                                 "token",
                                 pasted.back().text, right.front().text, use.text);
              return false;
            }
            pasted.back() = atUse(joined);
            pasted.insert(pasted.end(), right.begin() + 1, right.end());
          } else {
            pasted.insert(pasted.end(), right.begin(), right.end());
          }
          j += 2;
        }
        body.insert(body.end(), pasted.begin(), pasted.end());
        continue;
      }
      if (std::size_t p = paramOf(b); p < m.params.size()) {
        std::vector<Token> expandedArg;
        expand(args[p], active, depth + 1, expandedArg);
        body.insert(body.end(), expandedArg.begin(), expandedArg.end());
      } else {
        body.push_back(atUse(b));
      }
    }
    return true;
  }

  // One token made of `text` (a paste or a stringized argument), kept in the SourceSet so its
  // view stays valid; kind kEnd when `text` is not exactly one token.
  Token made(const std::string& text, const Token& use) {
    std::uint32_t file = sources_.add("<macro " + std::string(use.text) + ">", text);
    DiagnosticSink ignored;
    std::vector<Token> tokens = lex(sources_, file, ignored);
    if (tokens.size() != 2 || ignored.errorCount() > 0) return Token{};
    return tokens[0];
  }

  void directive(std::span<const Token> line, std::size_t depth) {
    if (line.size() < 2) return;  // a lone '#' is a null directive
    const Token& name = line[1];
    std::string_view d = name.text;
    std::span<const Token> rest = line.subspan(2);
    if (d == "if" || d == "ifdef" || d == "ifndef") {
      bool parentOn = on();
      bool value = false;
      if (parentOn) {
        if (d == "if") {
          value = evaluate(rest, name.span);
        } else if (rest.empty() || rest[0].kind != TokenKind::kIdentifier) {
          diagnostics_.error(name.span, "#{} needs a macro name", d);
        } else {
          value = macros_.count(rest[0].text) == (d == "ifdef" ? 1u : 0u);
        }
      }
      conditions_.push_back(Condition{parentOn && value, value, parentOn, false, name.span});
      return;
    }
    if (d == "elif" || d == "else" || d == "endif") {
      if (conditions_.empty()) {
        diagnostics_.error(name.span, "#{} without #if", d);
        return;
      }
      Condition& c = conditions_.back();
      if (d == "endif") {
        conditions_.pop_back();
      } else if (c.sawElse) {
        diagnostics_.error(name.span, "#{} after #else", d);
      } else if (d == "else") {
        c.sawElse = true;
        c.active = c.parentOn && !c.taken;
        c.taken = true;
      } else {
        bool value = c.parentOn && !c.taken && evaluate(rest, name.span);
        c.active = value;
        c.taken |= value;
      }
      return;
    }
    if (!on()) return;
    if (d == "define") {
      defineFrom(rest, name.span);
    } else if (d == "undef") {
      if (!rest.empty()) macros_.erase(rest[0].text);
    } else if (d == "include") {
      include(rest, name.span, depth);
    } else if (d == "pragma") {
      if (!rest.empty() && rest[0].isIdentifier("midl_echo")) {
        Token quote = rest[0];
        quote.text = "cpp_quote";
        quote.lineStart = true;
        out_.push_back(quote);
        out_.insert(out_.end(), rest.begin() + 1, rest.end());
      }
      // Other pragmas (pack, warning, ...) concern the C compiler.
    } else if (d == "error") {
      diagnostics_.error(name.span, "#error{}", rest.empty() ? "" : " " + joined(rest));
    } else if (d == "warning") {
      diagnostics_.warning(name.span, "#warning{}", rest.empty() ? "" : " " + joined(rest));
    } else if (d == "line" || name.kind == TokenKind::kNumber) {
      // Line markers from an earlier preprocessor: positions stay those of this file.
    } else {
      diagnostics_.error(name.span, "unknown preprocessor directive '#{}'", d);
    }
  }

  static std::string joined(std::span<const Token> tokens) {
    std::string s;
    for (const Token& t : tokens) {
      if (!s.empty() && t.spaceBefore) s += ' ';
      s += t.text;
    }
    return s;
  }

  void defineFrom(std::span<const Token> rest, Span where) {
    if (rest.empty() || rest[0].kind != TokenKind::kIdentifier) {
      diagnostics_.error(where, "#define needs a macro name");
      return;
    }
    Macro m;
    std::size_t i = 1;
    // A '(' right after the name (no space) makes a function-like macro.
    if (rest.size() > 1 && rest[1].is("(") && !rest[1].spaceBefore) {
      m.functionLike = true;
      for (i = 2; i < rest.size() && !rest[i].is(")"); ++i) {
        if (rest[i].kind == TokenKind::kIdentifier) {
          m.params.push_back(rest[i].text);
        } else if (!rest[i].is(",")) {
          diagnostics_.error(rest[i].span, "unexpected '{}' in the parameters of macro '{}'",
                             rest[i].text, rest[0].text);
          return;
        }
      }
      if (i >= rest.size()) {
        diagnostics_.error(rest[0].span, "unterminated parameters of macro '{}'", rest[0].text);
        return;
      }
      ++i;
    }
    m.body.assign(rest.begin() + static_cast<std::ptrdiff_t>(i), rest.end());
    macros_[rest[0].text] = std::move(m);
  }

  void include(std::span<const Token> rest, Span where, std::size_t depth) {
    std::string name;
    if (!rest.empty() && rest[0].kind == TokenKind::kString) {
      name = unquote(rest[0].text);
    } else if (!rest.empty() && rest[0].is("<")) {
      for (std::size_t i = 1; i < rest.size() && !rest[i].is(">"); ++i) name += rest[i].text;
    }
    if (name.empty()) {
      diagnostics_.error(where, "#include needs \"file\" or <file>");
      return;
    }
    if (depth + 1 > options_.maxIncludeDepth) {
      // Almost surely a file including itself: one error, and the run stops here.
      diagnostics_.error(where, "#include nested deeper than {}", options_.maxIncludeDepth);
      tooMany_ = true;
      return;
    }
    std::optional<std::uint32_t> file = loader_(name, where);
    if (file) process(*file, depth + 1);
  }

  // ---- #if expressions ----

  bool evaluate(std::span<const Token> tokens, Span where) {
    std::vector<Token> resolved;  // defined X replaced first, then macros expanded
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i].isIdentifier("defined")) {
        std::size_t j = i + 1;
        bool paren = j < tokens.size() && tokens[j].is("(");
        if (paren) ++j;
        if (j >= tokens.size() || tokens[j].kind != TokenKind::kIdentifier) {
          diagnostics_.error(tokens[i].span, "'defined' needs a macro name");
          return false;
        }
        Token v = tokens[i];
        v.kind = TokenKind::kNumber;
        v.text = macros_.count(tokens[j].text) ? "1" : "0";
        resolved.push_back(v);
        i = j + (paren && j + 1 < tokens.size() && tokens[j + 1].is(")") ? 1 : 0);
        continue;
      }
      resolved.push_back(tokens[i]);
    }
    std::vector<Token> expanded;
    std::set<std::string_view> active;
    expand(resolved, active, 0, expanded);
    expr_ = expanded;
    exprPos_ = 0;
    exprFailed_ = false;
    exprWhere_ = where;
    std::int64_t v = conditional(0);
    if (!exprFailed_ && exprPos_ < expr_.size()) {
      fail(expr_[exprPos_].span, "unexpected '{}' in #if", expr_[exprPos_].text);
    }
    return !exprFailed_ && v != 0;
  }

  template <typename... Args>
  std::int64_t fail(Span span, fmt::format_string<Args...> format, Args&&... args) {
    if (!exprFailed_) diagnostics_.error(span, format, std::forward<Args>(args)...);
    exprFailed_ = true;
    return 0;
  }
  bool accept(std::string_view punct) {
    if (exprPos_ < expr_.size() && expr_[exprPos_].is(punct)) {
      ++exprPos_;
      return true;
    }
    return false;
  }

  std::int64_t conditional(std::size_t depth) {
    if (depth > 200) return fail(exprWhere_, "#if expression nested too deeply");
    std::int64_t c = binary(0, depth);
    if (!accept("?")) return c;
    std::int64_t a = conditional(depth + 1);
    if (!accept(":")) return fail(exprWhere_, "'?' without ':' in #if");
    std::int64_t b = conditional(depth + 1);
    return c ? a : b;
  }

  // Precedence climbing over C's binary operators.
  std::int64_t binary(int minLevel, std::size_t depth) {
    static const std::map<std::string_view, int> kLevels = {
        {"||", 1}, {"&&", 2}, {"|", 3}, {"^", 4},  {"&", 5},  {"==", 6},
        {"!=", 6}, {"<", 7},  {">", 7}, {"<=", 7}, {">=", 7}, {"<<", 8},
        {">>", 8}, {"+", 9},  {"-", 9}, {"*", 10}, {"/", 10}, {"%", 10}};
    std::int64_t left = unary(depth);
    while (exprPos_ < expr_.size() && expr_[exprPos_].kind == TokenKind::kPunct) {
      auto it = kLevels.find(expr_[exprPos_].text);
      if (it == kLevels.end() || it->second < minLevel) break;
      std::string_view op = it->first;
      Span at = expr_[exprPos_++].span;
      std::int64_t right = binary(it->second + 1, depth + 1);
      if (exprFailed_) return 0;
      auto ul = static_cast<std::uint64_t>(left), ur = static_cast<std::uint64_t>(right);
      if (op == "||")
        left = left || right;
      else if (op == "&&")
        left = left && right;
      else if (op == "|")
        left = static_cast<std::int64_t>(ul | ur);
      else if (op == "^")
        left = static_cast<std::int64_t>(ul ^ ur);
      else if (op == "&")
        left = static_cast<std::int64_t>(ul & ur);
      else if (op == "==")
        left = left == right;
      else if (op == "!=")
        left = left != right;
      else if (op == "<")
        left = left < right;
      else if (op == ">")
        left = left > right;
      else if (op == "<=")
        left = left <= right;
      else if (op == ">=")
        left = left >= right;
      else if (op == "<<")
        left = static_cast<std::int64_t>(ul << (ur & 63));
      else if (op == ">>")
        left = left >> (ur & 63);
      else if (op == "+")
        left = static_cast<std::int64_t>(ul + ur);
      else if (op == "-")
        left = static_cast<std::int64_t>(ul - ur);
      else if (op == "*")
        left = static_cast<std::int64_t>(ul * ur);
      else if (right == 0)
        return fail(at, "division by zero in #if");
      else if (left == INT64_MIN && right == -1)
        left = op == "/" ? INT64_MIN : 0;
      else if (op == "/")
        left /= right;
      else
        left %= right;
    }
    return left;
  }

  std::int64_t unary(std::size_t depth) {
    if (depth > 200) return fail(exprWhere_, "#if expression nested too deeply");
    if (exprPos_ >= expr_.size()) return fail(exprWhere_, "#if expression ends early");
    const Token& t = expr_[exprPos_++];
    if (t.is("!")) return !unary(depth + 1);
    if (t.is("~")) return static_cast<std::int64_t>(~static_cast<std::uint64_t>(unary(depth + 1)));
    if (t.is("-"))
      return static_cast<std::int64_t>(0 - static_cast<std::uint64_t>(unary(depth + 1)));
    if (t.is("+")) return unary(depth + 1);
    if (t.is("(")) {
      std::int64_t v = conditional(depth + 1);
      if (!accept(")")) return fail(t.span, "'(' without ')' in #if");
      return v;
    }
    if (t.kind == TokenKind::kNumber) {
      std::uint64_t v;
      if (!parseInteger(t.text, v)) return fail(t.span, "'{}' is not an integer", t.text);
      return static_cast<std::int64_t>(v);
    }
    if (t.kind == TokenKind::kChar) {
      std::string s = unquote(t.text);
      return s.empty() ? 0 : static_cast<unsigned char>(s[0]);
    }
    if (t.kind == TokenKind::kIdentifier) return 0;  // an undefined name, as in C
    return fail(t.span, "unexpected '{}' in #if", t.text);
  }

  SourceSet& sources_;
  DiagnosticSink& diagnostics_;
  const PreprocessorOptions& options_;
  const IncludeLoader& loader_;
  std::deque<std::string> ownedNames_;  // names of command-line macros
  std::map<std::string_view, Macro, std::less<>> macros_;
  std::vector<Condition> conditions_;
  std::vector<Token> out_;
  bool tooMany_ = false;   // a token budget ran out: everything after is dropped
  std::size_t lexed_ = 0;  // tokens of every file read so far
  // The #if expression being evaluated.
  std::vector<Token> expr_;
  std::size_t exprPos_ = 0;
  bool exprFailed_ = false;
  Span exprWhere_;
};

}  // namespace

std::vector<Token> preprocess(SourceSet& sources, std::uint32_t file, DiagnosticSink& diagnostics,
                              const PreprocessorOptions& options, const IncludeLoader& loader) {
  return Preprocessor(sources, diagnostics, options, loader).run(file);
}

}  // namespace warden::idl
