// Spelling AST pieces as text, for the header emitter and the IR dump.
#include "idl/print.h"

#include <fmt/format.h>

#include "idl/symbols.h"

namespace warden::idl {

using ast::Expr;
using ast::TypeSpec;

std::string cType(std::string_view midl) { return std::string(cSpelling(midl)); }

std::string exprText(const Expr* e) {
  if (e == nullptr) return "";
  switch (e->kind) {
    case Expr::Kind::kNumber:
      return std::to_string(e->number);
    case Expr::Kind::kChar:
      return fmt::format("{}", e->number);
    case Expr::Kind::kString: {
      std::string s = "\"";
      for (char c : e->text) {
        if (c == '"' || c == '\\') s += '\\';
        s += c;
      }
      return s + "\"";
    }
    case Expr::Kind::kName:
      return e->text;
    case Expr::Kind::kUnary:
      return fmt::format("{}{}", e->op, exprText(e->a));
    case Expr::Kind::kBinary:
      if (e->op == "." || e->op == "->")
        return fmt::format("{}{}{}", exprText(e->a), e->op, exprText(e->b));
      return fmt::format("( {} {} {} )", exprText(e->a), e->op, exprText(e->b));
    case Expr::Kind::kTernary:
      return fmt::format("( {} ? {} : {} )", exprText(e->a), exprText(e->b), exprText(e->c));
    case Expr::Kind::kSizeof:
      if (e->type) {
        return fmt::format(
            "sizeof({}{})",
            e->type->kind == TypeSpec::Kind::kBase ? cType(e->type->name) : e->type->name,
            std::string(e->number, '*'));
      }
      return fmt::format("sizeof {}", exprText(e->a));
    case Expr::Kind::kCast:
      return fmt::format(
          "( ({}{}) {} )",
          e->type->kind == TypeSpec::Kind::kBase ? cType(e->type->name) : e->type->name,
          std::string(e->number, '*'), exprText(e->a));
    case Expr::Kind::kEmpty:
      return "";
    case Expr::Kind::kStar:
      return "*";
  }
  return "";
}

}  // namespace warden::idl
