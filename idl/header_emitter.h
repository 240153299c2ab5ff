// The C header of one IDL file, in MIDL's shapes: #include of each import's header, constants as
// #define, typedefs with the IDL attributes in comments, encapsulated unions as MIDL's struct of
// discriminant and union, conformant arrays as [1], operation prototypes (handle_t first where the
// operation binds explicitly), the interface specification handles <iface>_v<maj>_<min>_c_ifspec
// and _s_ifspec, context handle rundowns and midl_user_allocate/midl_user_free. Types are spelled
// with their NDR sizes (MIDL's long is int32_t, its wchar_t char16_t) over warden/rpc.h, so the
// header compiles as C and C++ on LP64 systems.
#pragma once

#include <deque>
#include <string>

#include "idl/ast.h"
#include "idl/source.h"

namespace warden::idl {

// The header's file name for an IDL file or an imported header: "ms-dtyp.idl" -> "ms-dtyp.h",
// "guiddef.h" -> "guiddef.h".
std::string headerName(std::string_view idlPath);

// The header for `module` (whose file is `idlPath`). The module must have passed sema. `all` (every
// module of the compilation) lets a COM interface's vtable include its base's methods.
std::string emitHeader(const ast::Module& module, std::string_view idlPath,
                       const std::deque<ast::Module>* all = nullptr);

// A C declaration of a pointer called `name` to `op`'s function type, as the header spells its
// types: "error_status_t (*Sum)(\n    /* [in] */ handle_t h, ...)".
std::string functionPointer(const ast::Operation& op, std::string_view name);
// The operation's C prototype as the header declares it, without the ';'.
std::string prototype(const ast::Operation& op);
// A local variable of a parameter's type, without const ("int32_t *a" for a conformant array).
std::string localVariable(const ast::TypeSpec* type, const ast::Declarator& d);
// A parameter's C type as the prototype spells it, const included ("const char16_t **").
std::string parameterType(const ast::TypeSpec* type, const ast::Declarator& d);
// The operation's C return type.
std::string returnType(const ast::Operation& op);

}  // namespace warden::idl
