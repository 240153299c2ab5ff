// Spelling AST pieces as text, for the header emitter and the IR dump.
#include "idl/print.h"

#include <fmt/format.h>

#include <map>

namespace warden::idl {

using ast::Expr;
using ast::TypeSpec;

// MIDL base types spelled with their NDR sizes for an LP64 C compiler.
std::string cType(std::string_view midl) {
  static const std::map<std::string_view, std::string_view> kTypes = {
      {"small", "int8_t"},
      {"signed small", "int8_t"},
      {"unsigned small", "uint8_t"},
      {"char", "char"},
      {"signed char", "signed char"},
      {"unsigned char", "unsigned char"},
      {"byte", "unsigned char"},
      {"boolean", "unsigned char"},
      {"short", "int16_t"},
      {"signed short", "int16_t"},
      {"unsigned short", "uint16_t"},
      {"short int", "int16_t"},
      {"unsigned short int", "uint16_t"},
      {"int", "int32_t"},
      {"signed int", "int32_t"},
      {"unsigned int", "uint32_t"},
      {"signed", "int32_t"},
      {"unsigned", "uint32_t"},
      {"long", "int32_t"},
      {"signed long", "int32_t"},
      {"unsigned long", "uint32_t"},
      {"long int", "int32_t"},
      {"unsigned long int", "uint32_t"},
      {"hyper", "int64_t"},
      {"signed hyper", "int64_t"},
      {"unsigned hyper", "uint64_t"},
      {"long long", "int64_t"},
      {"unsigned long long", "uint64_t"},
      {"signed long long", "int64_t"},
      {"long long int", "int64_t"},
      {"unsigned long long int", "uint64_t"},
      {"signed long int", "int32_t"},
      {"signed short int", "int16_t"},
      {"__int8", "int8_t"},
      {"signed __int8", "int8_t"},
      {"unsigned __int8", "uint8_t"},
      {"__int16", "int16_t"},
      {"signed __int16", "int16_t"},
      {"unsigned __int16", "uint16_t"},
      {"__int32", "int32_t"},
      {"signed __int32", "int32_t"},
      {"unsigned __int32", "uint32_t"},
      {"__int64", "int64_t"},
      {"signed __int64", "int64_t"},
      {"unsigned __int64", "uint64_t"},
      {"__int3264", "intptr_t"},
      {"signed __int3264", "intptr_t"},
      {"unsigned __int3264", "uintptr_t"},
      {"float", "float"},
      {"double", "double"},
      {"wchar_t", "char16_t"},
      {"void", "void"},
      {"handle_t", "handle_t"},
      {"error_status_t", "error_status_t"},
      {"ISO_LATIN_1", "char"},
      {"ISO_MULTI_LINGUAL", "char16_t"},
      {"ISO_UCS", "uint32_t"},
  };
  auto it = kTypes.find(midl);
  return std::string(it == kTypes.end() ? midl : it->second);
}

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
