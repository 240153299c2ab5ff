// The stubs' skeleton of an IDL file: FILE_c.cc (the client interface specification,
// <iface>_v<maj>_<min>_c_ifspec) and FILE_s.cc (the server specification, _s_ifspec, with the
// manager entry point vector <iface>_v<maj>_<min>_epv_t whose default points at the manager
// routines the application defines). The per-operation stubs that marshal with NDR are the NDR
// issue's: until they exist a client that calls an operation does not link, which is the honest
// failure. [object] (COM) and [local] interfaces have no stubs.
#pragma once

#include <deque>
#include <string>

#include "idl/ast.h"

namespace warden::idl {

// "tree.idl" -> "tree_c.cc" / "tree_s.cc".
std::string clientStubName(std::string_view idlPath);
std::string serverStubName(std::string_view idlPath);

// `acf`, when given, is the ACF whose `include "x.h";` statements the stubs #include.
std::string emitClientStub(const ast::Module& module, std::string_view idlPath,
                           const ast::Module* acf = nullptr);
std::string emitServerStub(const ast::Module& module, std::string_view idlPath,
                           const ast::Module* acf = nullptr);

}  // namespace warden::idl
