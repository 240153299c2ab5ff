// Spelling AST pieces as text: C types for MIDL base types, expressions as MIDL writes them.
#pragma once

#include <string>
#include <string_view>

#include "idl/ast.h"

namespace warden::idl {

// A MIDL base type spelled with its NDR size for an LP64 C compiler ("unsigned long" ->
// "uint32_t", "wchar_t" -> "char16_t"); other names unchanged.
std::string cType(std::string_view midl);

// An expression as C text, parenthesised as MIDL writes it: "( Length - 4 )", "*pcb".
std::string exprText(const ast::Expr* e);

}  // namespace warden::idl
