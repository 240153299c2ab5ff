// Recursive descent over MIDL's C-like grammar. Errors throw a private Abandon that unwinds to the
// item being parsed; that item is dropped and parsing resumes after it (skip to ';' or '}').
#include "idl/parser.h"

#include <array>
#include <map>

#include "idl/preprocessor.h"

namespace warden::idl {

namespace {

using ast::Attribute;
using ast::Attributes;
using ast::Declarator;
using ast::Expr;
using ast::Item;
using ast::TypeSpec;

struct Abandon {};

// Words that make up MIDL's base types.
constexpr std::array<std::string_view, 24> kBaseWords = {"signed",
                                                         "unsigned",
                                                         "char",
                                                         "small",
                                                         "short",
                                                         "long",
                                                         "int",
                                                         "hyper",
                                                         "__int8",
                                                         "__int16",
                                                         "__int32",
                                                         "__int64",
                                                         "__int3264",
                                                         "float",
                                                         "double",
                                                         "boolean",
                                                         "byte",
                                                         "void",
                                                         "wchar_t",
                                                         "handle_t",
                                                         "error_status_t",
                                                         "ISO_LATIN_1",
                                                         "ISO_MULTI_LINGUAL",
                                                         "ISO_UCS"};

// Decorations C headers put in declarators; they mean nothing to MIDL.
constexpr std::array<std::string_view, 9> kIgnoredWords = {"__RPC_FAR",  "__RPC_USER", "__RPC_API",
                                                           "__RPC_STUB", "RPC_ENTRY",  "__stdcall",
                                                           "__cdecl",    "far",        "near"};

// Attributes whose argument is a type, not an expression.
constexpr std::array<std::string_view, 5> kTypeAttributes = {
    "switch_type", "transmit_as", "represent_as", "wire_marshal", "user_marshal"};

// Attributes whose arguments are expressions (names included: pointer_default(unique)). The
// arguments of any other attribute are kept as written for sema, which knows every attribute and
// reports the unknown ones: a vendor's extension does not derail parsing.
constexpr std::array<std::string_view, 26> kExpressionAttributes = {
    "size_is",          "max_is",   "min_is",       "length_is",   "first_is",
    "last_is",          "range",    "switch_is",    "iid_is",      "case",
    "byte_count",       "endpoint", "helpstring",   "helpcontext", "helpfile",
    "annotation",       "call_as",  "defaultvalue", "id",          "lcid",
    "pointer_default",  "allocate", "optimize",     "async_uuid",  "local",
    "helpstringcontext"};

template <std::size_t N>
bool among(const std::array<std::string_view, N>& words, std::string_view w) {
  for (std::string_view x : words) {
    if (x == w) return true;
  }
  return false;
}

class Parser {
 public:
  Parser(std::span<const Token> tokens, ast::Module& module, DiagnosticSink& diagnostics,
         const ParseOptions& options)
      : t_(tokens), m_(module), d_(diagnostics), options_(options) {}

  void run() {
    sequence([&] { item(m_.items, /*inInterface=*/false); }, /*untilBrace=*/false);
  }

  // Parses with `one` until the end (or a '}' with untilBrace): an item that fails is skipped
  // (see recover) and parsing goes on with the next, so one run reports every error.
  template <typename One>
  void sequence(One one, bool untilBrace) {
    while (tok().kind != TokenKind::kEnd && !(untilBrace && tok().is("}"))) {
      std::size_t before = pos_;
      try {
        one();
      } catch (const Abandon&) {
        recover(before);
        if (!untilBrace && tok().is("}")) ++pos_;  // a stray '}' at file level
      }
      if (pos_ == before) ++pos_;  // never loop in place
    }
  }

 private:
  // ---- Tokens ----
  const Token& tok(std::size_t ahead = 0) const {
    return t_[std::min(pos_ + ahead, t_.size() - 1)];
  }
  bool accept(std::string_view punct) {
    if (!tok().is(punct)) return false;
    ++pos_;
    return true;
  }
  bool acceptWord(std::string_view word) {
    if (!tok().isIdentifier(word)) return false;
    ++pos_;
    return true;
  }
  static std::string_view describe(const Token& t) {
    return t.kind == TokenKind::kEnd ? std::string_view("end of file") : t.text;
  }
  [[noreturn]] void fail(const Token& at, std::string message) {
    d_.report(Severity::kError, at.span, std::move(message));
    throw Abandon{};
  }
  void expect(std::string_view punct, std::string_view context) {
    if (!accept(punct)) {
      fail(tok(), fmt::format("expected '{}' {}, found '{}'", punct, context, describe(tok())));
    }
  }
  const Token& identifier(std::string_view what) {
    if (tok().kind != TokenKind::kIdentifier) {
      fail(tok(), fmt::format("expected {}, found '{}'", what, describe(tok())));
    }
    return t_[pos_++];
  }
  Span spanFrom(std::size_t start) const {
    const Token& first = t_[start];
    const Token& last = t_[pos_ > start ? pos_ - 1 : start];
    if (last.span.begin.file != first.span.begin.file ||
        last.span.begin.offset < first.span.begin.offset) {
      return first.span;
    }
    return Span{first.span.begin,
                last.span.begin.offset + last.span.length - first.span.begin.offset};
  }
  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > p.options_.maxDepth) {
        p.fail(p.tok(), fmt::format("nested more than {} levels deep", p.options_.maxDepth));
      }
    }
    ~DepthGuard() { --p.depth_; }
  };

  // After an error in the item that began at `start`: skips to just after the ';' that ends it, or
  // to the '}' that closes the body around it (bodies opened inside the item are skipped whole).
  // Only braces count: no ';' belongs inside parentheses or brackets, so an unclosed '(' does not
  // swallow the rest of the file.
  void recover(std::size_t start) {
    int level = 0;
    for (std::size_t i = start; i < pos_; ++i) {
      if (t_[i].is("{")) ++level;
      if (t_[i].is("}") && level > 0) --level;
    }
    while (tok().kind != TokenKind::kEnd) {
      const Token& t = tok();
      if (t.is("{")) {
        ++level;
      } else if (t.is("}")) {
        if (level == 0) return;
        --level;
      } else if (t.is(";") && level == 0) {
        ++pos_;
        return;
      }
      ++pos_;
    }
  }

  // ---- Items ----
  void item(std::vector<Item>& items, bool inInterface) {
    const std::size_t start = pos_;
    if (acceptWord("import")) {
      Item it{.kind = Item::Kind::kImport};
      do {
        if (tok().kind != TokenKind::kString) {
          fail(tok(), fmt::format("expected a file name in quotes after import, found '{}'",
                                  describe(tok())));
        }
        it.imports.push_back(unquote(tok().text));
        it.importSpans.push_back(tok().span);
        ++pos_;
      } while (accept(","));
      expect(";", "after the import list");
      it.span = spanFrom(start);
      items.push_back(std::move(it));
      return;
    }
    if (acceptWord("cpp_quote")) {
      expect("(", "after cpp_quote");
      if (tok().kind != TokenKind::kString) {
        fail(tok(), fmt::format("expected a string in cpp_quote, found '{}'", describe(tok())));
      }
      Item it{.kind = Item::Kind::kCppQuote};
      it.text = unquote(tok().text);
      ++pos_;
      expect(")", "after the cpp_quote string");
      accept(";");
      it.span = spanFrom(start);
      items.push_back(std::move(it));
      return;
    }
    if (acceptWord("midl_pragma")) {  // midl_pragma warning(disable: 2111): for MIDL's own output
      identifier("a midl_pragma name");
      expect("(", "after midl_pragma");
      int level = 1;
      while (level > 0 && tok().kind != TokenKind::kEnd) {
        if (tok().is("(")) ++level;
        if (tok().is(")")) --level;
        ++pos_;
      }
      accept(";");
      return;
    }
    if (tok().is(";")) {  // an empty declaration
      ++pos_;
      return;
    }
    Attributes attrs;
    if (tok().is("[")) attrs = attributes();
    if (tok().isIdentifier("interface") || tok().isIdentifier("dispinterface")) {
      if (inInterface) fail(tok(), "an interface cannot be declared inside an interface");
      interface(std::move(attrs), start, items);
      return;
    }
    for (std::string_view com : {"library", "coclass", "module"}) {
      if (tok().isIdentifier(com)) {
        fail(tok(), fmt::format("'{}' (a COM type library construct) is not supported", com));
      }
    }
    if (acceptWord("typedef")) {
      ast::Typedef& td = m_.typedefs.emplace_back();
      if (tok().is("[")) {
        Attributes more = attributes();
        attrs.insert(attrs.end(), more.begin(), more.end());
      }
      td.attributes = std::move(attrs);
      td.type = typeSpec();
      do {
        td.declarators.push_back(declarator(false));
      } while (accept(","));
      expect(";", "after the typedef");
      td.span = spanFrom(start);
      items.push_back(Item{.kind = Item::Kind::kTypedef, .span = td.span, .typedefDecl = &td});
      return;
    }
    if (acceptWord("extern")) {  // a constant defined elsewhere: declared in the header
      ast::Const& c = m_.consts.emplace_back();
      c.type = typeSpec();
      c.declarator = declarator(false);
      expect(";", "after the extern declaration");
      c.span = spanFrom(start);
      items.push_back(Item{.kind = Item::Kind::kExtern, .span = c.span, .constDecl = &c});
      return;
    }
    if (acceptWord("const")) {
      ast::Const& c = m_.consts.emplace_back();
      c.type = typeSpec();
      c.declarator = declarator(false);
      expect("=", "after the constant's name");
      c.value = expression();
      expect(";", "after the constant");
      c.span = spanFrom(start);
      items.push_back(Item{.kind = Item::Kind::kConst, .span = c.span, .constDecl = &c});
      return;
    }
    const TypeSpec* type = typeSpec();
    if (accept(";")) {  // struct/union/enum declared on its own
      if (type->kind == TypeSpec::Kind::kBase || type->kind == TypeSpec::Kind::kNamed) {
        d_.report(Severity::kError, t_[pos_ - 1].span, "a declaration that declares nothing");
        return;  // the item ended at its ';': nothing to skip
      }
      items.push_back(
          Item{.kind = Item::Kind::kTypeDecl, .span = spanFrom(start), .typeDecl = type});
      return;
    }
    Declarator decl = declarator(false);
    if (!tok().is("(")) {
      fail(tok(), fmt::format("expected '(' after '{}' (only operations are declared here), "
                              "found '{}'",
                              decl.name, describe(tok())));
    }
    ast::Operation& op = m_.operations.emplace_back();
    op.attributes = std::move(attrs);
    op.returnType = type;
    op.declarator = std::move(decl);
    op.params = parameters();
    expect(";", "after the operation");
    op.span = spanFrom(start);
    items.push_back(Item{.kind = Item::Kind::kOperation, .span = op.span, .operation = &op});
  }

  void interface(Attributes attrs, std::size_t start, std::vector<Item>& items) {
    ++pos_;  // interface
    ast::Interface& in = m_.interfaces.emplace_back();
    in.attributes = std::move(attrs);
    in.name = identifier("an interface name").text;
    if (accept(":")) in.base = identifier("a base interface name").text;
    if (accept(";")) {
      in.forward = true;
      in.span = spanFrom(start);
    } else {
      expect("{", "to open the interface body");
      sequence([&] { item(in.items, /*inInterface=*/true); }, /*untilBrace=*/true);
      in.span = spanFrom(start);
      expect("}", fmt::format("to close interface {}", in.name));
      accept(";");
    }
    items.push_back(Item{.kind = Item::Kind::kInterface, .span = in.span, .interface = &in});
  }

  // ---- Attributes ----
  Attributes attributes() {
    Attributes out;
    while (accept("[")) {
      if (accept("]")) continue;  // [] is allowed and empty
      do {
        out.push_back(attribute());
      } while (accept(","));
      expect("]", "to close the attribute list");
    }
    return out;
  }

  Attribute attribute() {
    const std::size_t start = pos_;
    Attribute a;
    const Token& name = identifier("an attribute name");
    a.name = name.text;
    if (accept("(")) {
      a.hasArgs = true;
      if (a.name == "uuid" || a.name == "version") {
        // As written: 12345778-1234-ABCD-EF00-0123456789AB lexes as numbers, names and '-'.
        if (tok().kind == TokenKind::kString) {
          a.raw = unquote(tok().text);
          ++pos_;
        } else {
          while (!tok().is(")") && tok().kind != TokenKind::kEnd && !tok().is(";")) {
            a.raw += tok().text;
            ++pos_;
          }
        }
      } else if (among(kTypeAttributes, a.name)) {
        a.type = typeSpec();
        while (accept("*")) ++a.typePointers;
      } else if (a.name == "implicit_handle") {  // ACF: implicit_handle(handle_t name)
        a.type = typeSpec();
        Declarator handle = declarator(false);
        a.typePointers = handle.pointers;
        a.raw = std::string(handle.name);
      } else if (!among(kExpressionAttributes, a.name)) {
        int level = 0;
        while (tok().kind != TokenKind::kEnd && (level > 0 || !tok().is(")"))) {
          if (tok().is("(")) ++level;
          if (tok().is(")")) --level;
          if (!a.raw.empty() && tok().spaceBefore) a.raw += ' ';
          a.raw += tok().text;
          ++pos_;
        }
      } else if (!tok().is(")")) {
        for (;;) {
          if (tok().is("*") && (tok(1).is(",") || tok(1).is(")"))) {
            Expr& e = m_.exprs.emplace_back();  // size_is(*): go-msrpc's "sized elsewhere"
            e.kind = Expr::Kind::kStar;
            e.span = tok().span;
            a.args.push_back(&e);
            ++pos_;
          } else if (tok().is(",") || tok().is(")")) {
            Expr& e = m_.exprs.emplace_back();
            e.kind = Expr::Kind::kEmpty;
            e.span = tok().span;
            a.args.push_back(&e);
          } else {
            a.args.push_back(expression());
          }
          if (!accept(",")) break;
        }
      }
      expect(")", fmt::format("to close the arguments of [{}]", a.name));
    }
    a.span = spanFrom(start);
    return a;
  }

  // ---- Types and declarators ----
  const TypeSpec* typeSpec() {
    DepthGuard guard(*this);
    const std::size_t start = pos_;
    TypeSpec& ts = m_.types.emplace_back();
    while (tok().isIdentifier("const") || tok().isIdentifier("volatile")) {
      ts.isConst |= tok().text == "const";
      ++pos_;
    }
    if (acceptWord("struct")) {
      ts.kind = TypeSpec::Kind::kStruct;
      ts.structDef = structBody(start);
    } else if (acceptWord("union")) {
      ts.kind = TypeSpec::Kind::kUnion;
      ts.unionDef = unionBody(start);
    } else if (acceptWord("enum")) {
      ts.kind = TypeSpec::Kind::kEnum;
      ts.enumDef = enumBody(start);
    } else if (tok().kind == TokenKind::kIdentifier && among(kBaseWords, tok().text)) {
      ts.kind = TypeSpec::Kind::kBase;
      std::string words;
      while (tok().kind == TokenKind::kIdentifier &&
             (among(kBaseWords, tok().text) || tok().text == "const")) {
        if (tok().text == "const") {
          ts.isConst = true;
        } else {
          if (!words.empty()) words += ' ';
          words += tok().text;
        }
        ++pos_;
      }
      ts.name = std::move(words);
    } else if (tok().kind == TokenKind::kIdentifier) {
      ts.kind = TypeSpec::Kind::kNamed;
      ts.name = std::string(tok().text);
      ++pos_;
    } else {
      fail(tok(), fmt::format("expected a type, found '{}'", describe(tok())));
    }
    if (acceptWord("const")) ts.isConst = true;
    ts.span = spanFrom(start);
    return &ts;
  }

  std::string_view optionalTag() {
    if (tok().kind != TokenKind::kIdentifier || tok().text == "switch") return {};
    return t_[pos_++].text;
  }

  const ast::StructDef* structBody(std::size_t start) {
    ast::StructDef& s = m_.structs.emplace_back();
    s.tag = optionalTag();
    if (accept("{")) {
      s.hasBody = true;
      while (!accept("}")) {
        if (tok().kind == TokenKind::kEnd) fail(tok(), "end of file inside a struct");
        fields(s.fields);
      }
    } else if (s.tag.empty()) {
      fail(tok(), fmt::format("expected a struct tag or '{{', found '{}'", describe(tok())));
    }
    s.span = spanFrom(start);
    return &s;
  }

  ast::Field field() {
    std::vector<ast::Field> one;
    fields(one);
    if (one.size() != 1) fail(t_[pos_ - 1], "a union arm declares one member");
    return std::move(one[0]);
  }

  // [attributes] TYPE a, *b, c[4];  -> one Field each, sharing attributes and type.
  void fields(std::vector<ast::Field>& out) {
    ast::Field f;
    if (tok().is("[")) f.attributes = attributes();
    f.type = typeSpec();
    if (tok().is(";") &&
        (f.type->kind == TypeSpec::Kind::kStruct || f.type->kind == TypeSpec::Kind::kUnion)) {
      f.declarator.span = tok().span;  // an anonymous struct or union member (C11)
      out.push_back(f);
      ++pos_;
      return;
    }
    do {
      f.declarator = declarator(false);
      out.push_back(f);
    } while (accept(","));
    expect(";", "after the member");
  }

  const ast::UnionDef* unionBody(std::size_t start) {
    ast::UnionDef& u = m_.unions.emplace_back();
    u.tag = optionalTag();
    if (acceptWord("switch")) {
      u.encapsulated = true;
      expect("(", "after switch");
      u.switchType = typeSpec();
      u.switchName = identifier("the discriminant's name").text;
      expect(")", "after the discriminant");
      if (tok().kind == TokenKind::kIdentifier) u.unionName = t_[pos_++].text;
    }
    if (accept("{")) {
      u.hasBody = true;
      while (!accept("}")) {
        if (tok().kind == TokenKind::kEnd) fail(tok(), "end of file inside a union");
        u.arms.push_back(u.encapsulated ? encapsulatedArm() : plainArm());
      }
    } else if (u.tag.empty()) {
      fail(tok(), fmt::format("expected a union tag or '{{', found '{}'", describe(tok())));
    }
    u.span = spanFrom(start);
    return &u;
  }

  // case 1: case 2: TYPE name;   default: ;
  ast::UnionArm encapsulatedArm() {
    const std::size_t start = pos_;
    ast::UnionArm arm;
    bool any = false;
    for (;;) {
      if (acceptWord("case")) {
        arm.cases.push_back(expression());
        expect(":", "after the case label");
        any = true;
      } else if (acceptWord("default")) {
        expect(":", "after default");
        arm.isDefault = true;
        any = true;
      } else {
        break;
      }
    }
    if (!any) fail(tok(), fmt::format("expected 'case' or 'default', found '{}'", describe(tok())));
    if (accept(";")) {
      arm.empty = true;
    } else {
      arm.field = field();
    }
    arm.span = spanFrom(start);
    return arm;
  }

  // [case(1, 2)] TYPE name;   [default] ;
  ast::UnionArm plainArm() {
    const std::size_t start = pos_;
    ast::UnionArm arm;
    if (tok().is("[")) arm.field.attributes = attributes();
    if (accept(";")) {
      arm.empty = true;
    } else {
      Attributes attrs = std::move(arm.field.attributes);
      arm.field = field();
      attrs.insert(attrs.end(), arm.field.attributes.begin(), arm.field.attributes.end());
      arm.field.attributes = std::move(attrs);
    }
    arm.span = spanFrom(start);
    return arm;
  }

  const ast::EnumDef* enumBody(std::size_t start) {
    ast::EnumDef& e = m_.enums.emplace_back();
    e.tag = optionalTag();
    if (accept("{")) {
      e.hasBody = true;
      while (!accept("}")) {
        ast::Enumerator en;
        const Token& name = identifier("an enumerator");
        en.name = name.text;
        en.span = name.span;
        if (accept("=")) en.value = expression();
        e.enumerators.push_back(en);
        if (!accept(",")) {
          expect("}", "after the enumerators");
          break;
        }
      }
    } else if (e.tag.empty()) {
      fail(tok(), fmt::format("expected an enum tag or '{{', found '{}'", describe(tok())));
    }
    e.span = spanFrom(start);
    return &e;
  }

  void skipIgnoredWords() {
    while (tok().kind == TokenKind::kIdentifier && among(kIgnoredWords, tok().text)) ++pos_;
  }

  Declarator declarator(bool abstractAllowed) {
    DepthGuard guard(*this);
    const std::size_t start = pos_;
    Declarator d;
    skipIgnoredWords();
    while (accept("*")) {
      ++d.pointers;
      skipIgnoredWords();
      d.constPointer.push_back(acceptWord("const"));
      skipIgnoredWords();
    }
    if (tok().is("(") && tok(1).is("*")) {  // (*name)(...): a function pointer
      pos_ += 2;
      skipIgnoredWords();
      d.name = identifier("a function pointer's name").text;
      expect(")", "after the function pointer's name");
      d.functionPointer = true;
      if (tok().is("(")) parameters();
    } else if (tok().kind == TokenKind::kIdentifier) {
      d.name = t_[pos_++].text;
    } else if (!abstractAllowed) {
      fail(tok(), fmt::format("expected a name, found '{}'", describe(tok())));
    }
    while (tok().is("[")) {
      ast::ArrayDim dim;
      const std::size_t dimStart = pos_++;
      if (tok().is("*") && tok(1).is("]")) {
        dim.star = true;
        ++pos_;
      } else if (!tok().is("]")) {
        dim.size = expression();
        if (accept("..")) {  // DCE's [lower..upper] (lexed as two '.')
          dim.lower = dim.size;
          dim.size = expression();
        } else if (tok().is(".") && tok(1).is(".")) {
          pos_ += 2;
          dim.lower = dim.size;
          dim.size = expression();
        }
      }
      expect("]", "to close the array bound");
      dim.span = spanFrom(dimStart);
      d.arrays.push_back(dim);
    }
    d.span = spanFrom(start);
    return d;
  }

  std::vector<ast::Param> parameters() {
    expect("(", "to open the parameter list");
    std::vector<ast::Param> out;
    if (tok().isIdentifier("void") && tok(1).is(")")) {
      pos_ += 2;
      return out;
    }
    if (accept(")")) return out;
    do {
      const std::size_t start = pos_;
      ast::Param p;
      if (tok().is("[")) p.attributes = attributes();
      p.type = typeSpec();
      p.declarator = declarator(true);
      p.span = spanFrom(start);
      out.push_back(std::move(p));
    } while (accept(","));
    expect(")", "to close the parameter list");
    return out;
  }

  // ---- Expressions ----
  const Expr* expression() {
    DepthGuard guard(*this);
    const std::size_t start = pos_;
    const Expr* cond = binary(1);
    if (!accept("?")) return cond;
    Expr& e = m_.exprs.emplace_back();
    e.kind = Expr::Kind::kTernary;
    e.a = cond;
    e.b = expression();
    expect(":", "in the conditional expression");
    e.c = expression();
    e.span = spanFrom(start);
    return &e;
  }

  static int level(const Token& t) {
    static const std::map<std::string_view, int> kLevels = {
        {"||", 1}, {"&&", 2}, {"|", 3}, {"^", 4},  {"&", 5},  {"==", 6},
        {"!=", 6}, {"<", 7},  {">", 7}, {"<=", 7}, {">=", 7}, {"<<", 8},
        {">>", 8}, {"+", 9},  {"-", 9}, {"*", 10}, {"/", 10}, {"%", 10}};
    if (t.kind != TokenKind::kPunct) return 0;
    auto it = kLevels.find(t.text);
    return it == kLevels.end() ? 0 : it->second;
  }

  const Expr* binary(int minLevel) {
    DepthGuard guard(*this);
    const std::size_t start = pos_;
    const Expr* left = unary();
    for (int l; (l = level(tok())) >= minLevel && l > 0;) {
      Expr& e = m_.exprs.emplace_back();
      e.kind = Expr::Kind::kBinary;
      e.op = t_[pos_++].text;
      e.a = left;
      e.b = binary(l + 1);
      e.span = spanFrom(start);
      left = &e;
    }
    return left;
  }

  bool startsType(std::size_t ahead) const {
    const Token& t = tok(ahead);
    return t.kind == TokenKind::kIdentifier &&
           (among(kBaseWords, t.text) || t.text == "struct" || t.text == "union" ||
            t.text == "enum" || t.text == "const");
  }

  // (NAME *...) : only a cast can look like that (a product needs its right operand).
  bool namedPointerCast() const {
    if (tok(1).kind != TokenKind::kIdentifier || !tok(2).is("*")) return false;
    std::size_t i = 3;
    while (tok(i).is("*")) ++i;
    return tok(i).is(")");
  }

  const Expr* unary() {
    DepthGuard guard(*this);
    const std::size_t start = pos_;
    const Token& t = tok();
    if (t.is("-") || t.is("+") || t.is("!") || t.is("~") || t.is("*") || t.is("&")) {
      ++pos_;
      Expr& e = m_.exprs.emplace_back();
      e.kind = Expr::Kind::kUnary;
      e.op = t.text;
      e.a = unary();
      e.span = spanFrom(start);
      return &e;
    }
    if (acceptWord("sizeof")) {
      Expr& e = m_.exprs.emplace_back();
      e.kind = Expr::Kind::kSizeof;
      if (tok().is("(") && startsType(1)) {
        ++pos_;
        e.type = typeSpec();
        while (accept("*")) e.number++;  // pointers: sizeof(void*)
        expect(")", "after the type in sizeof");
      } else if (tok().is("(") && tok(1).kind == TokenKind::kIdentifier && tok(2).is(")")) {
        // sizeof(NAME): a typedef name (MIDL allows only types here).
        ++pos_;
        TypeSpec& ts = m_.types.emplace_back();
        ts.kind = TypeSpec::Kind::kNamed;
        ts.name = std::string(tok().text);
        ts.span = tok().span;
        ++pos_;
        ++pos_;
        e.type = &ts;
      } else {
        e.a = unary();
      }
      e.span = spanFrom(start);
      return &e;
    }
    if (t.is("(") && (startsType(1) || namedPointerCast())) {
      ++pos_;
      Expr& e = m_.exprs.emplace_back();
      e.kind = Expr::Kind::kCast;
      e.type = typeSpec();
      while (accept("*")) e.number++;
      expect(")", "after the cast's type");
      e.a = unary();
      e.span = spanFrom(start);
      return &e;
    }
    return postfix();
  }

  const Expr* postfix() {
    const std::size_t start = pos_;
    const Expr* left = primary();
    while (tok().is(".") || tok().is("->")) {
      Expr& e = m_.exprs.emplace_back();
      e.kind = Expr::Kind::kBinary;
      e.op = t_[pos_++].text;
      e.a = left;
      const Token& member = identifier("a member name");
      Expr& name = m_.exprs.emplace_back();
      name.kind = Expr::Kind::kName;
      name.text = std::string(member.text);
      name.span = member.span;
      e.b = &name;
      e.span = spanFrom(start);
      left = &e;
    }
    return left;
  }

  const Expr* primary() {
    const Token& t = tok();
    if (accept("(")) {
      const Expr* inner = expression();
      expect(")", "to close the parenthesis");
      return inner;
    }
    Expr& e = m_.exprs.emplace_back();
    e.span = t.span;
    switch (t.kind) {
      case TokenKind::kNumber:
        e.kind = Expr::Kind::kNumber;
        if (!parseInteger(t.text, e.number)) {
          fail(t, fmt::format("'{}' is not an integer constant", t.text));
        }
        break;
      case TokenKind::kString:
        e.kind = Expr::Kind::kString;
        e.text = unquote(t.text);
        break;
      case TokenKind::kChar: {
        e.kind = Expr::Kind::kChar;
        std::string c = unquote(t.text);
        e.number = c.empty() ? 0 : static_cast<unsigned char>(c[0]);
        break;
      }
      case TokenKind::kIdentifier:
        e.kind = Expr::Kind::kName;
        e.text = std::string(t.text);
        if (t.text == "TRUE" || t.text == "FALSE") e.number = t.text == "TRUE";
        break;
      default:
        fail(t, fmt::format("expected an expression, found '{}'", describe(t)));
    }
    ++pos_;
    return &e;
  }

  // ---- ACF ----
 public:
  void runAcf() {
    sequence([&] { acfInterface(); }, /*untilBrace=*/false);
  }

 private:
  void acfInterface() {
    const std::size_t start = pos_;
    ast::AcfInterface in;
    if (tok().is("[")) in.attributes = attributes();
    if (!acceptWord("interface")) {
      fail(tok(), fmt::format("expected 'interface' in the ACF, found '{}'", describe(tok())));
    }
    in.name = identifier("an interface name").text;
    expect("{", "to open the interface body");
    sequence([&] { acfItem(in); }, /*untilBrace=*/true);
    in.span = spanFrom(start);
    expect("}", fmt::format("to close interface {}", in.name));
    accept(";");
    m_.acf.push_back(std::move(in));
  }

  void acfItem(ast::AcfInterface& in) {
    const std::size_t start = pos_;
    if (acceptWord("include")) {
      do {
        if (tok().kind != TokenKind::kString) {
          fail(tok(), fmt::format("expected a header name in quotes, found '{}'", describe(tok())));
        }
        in.includes.push_back(unquote(tok().text));
        ++pos_;
      } while (accept(","));
      expect(";", "after the include list");
      return;
    }
    if (acceptWord("typedef")) {
      ast::AcfTypedef td;
      if (tok().is("[")) td.attributes = attributes();
      td.name = identifier("the name of a type of the IDL").text;
      expect(";", "after the ACF typedef");
      td.span = spanFrom(start);
      in.typedefs.push_back(std::move(td));
      return;
    }
    ast::AcfOperation op;
    if (tok().is("[")) op.attributes = attributes();
    op.name = identifier("an operation name").text;
    expect("(", "to open the parameter list");
    if (!tok().is(")")) {
      do {
        const std::size_t paramStart = pos_;
        ast::AcfParam p;
        if (tok().is("[")) p.attributes = attributes();
        p.name = identifier("a parameter name").text;
        p.span = spanFrom(paramStart);
        op.params.push_back(std::move(p));
      } while (accept(","));
    }
    expect(")", "to close the parameter list");
    expect(";", "after the ACF operation");
    op.span = spanFrom(start);
    in.operations.push_back(std::move(op));
  }

  std::span<const Token> t_;
  ast::Module& m_;
  DiagnosticSink& d_;
  const ParseOptions& options_;
  std::size_t pos_ = 0;
  std::size_t depth_ = 0;
};

}  // namespace

void parse(std::span<const Token> tokens, ast::Module& module, DiagnosticSink& diagnostics,
           const ParseOptions& options) {
  Parser(tokens, module, diagnostics, options).run();
}

void parseAcf(std::span<const Token> tokens, ast::Module& module, DiagnosticSink& diagnostics,
              const ParseOptions& options) {
  Parser(tokens, module, diagnostics, options).runAcf();
}

}  // namespace warden::idl
