// The stubs' skeleton of an IDL file: FILE_c.cc (the client interface specification,
// <iface>_v<maj>_<min>_c_ifspec, and each operation's client stub) and FILE_s.cc (the server
// stubs, the manager entry point vector <iface>_v<maj>_<min>_epv_t whose default points at the
// manager routines the application defines, and the server specification _s_ifspec). The NDR
// code comes from ndr_emitter. [object] (COM) and [local] interfaces have no stubs.
#pragma once

#include <deque>
#include <string>

#include "idl/ast.h"
#include "idl/compiler.h"

namespace warden::idl {

// "tree.idl" -> "tree_c.cc" / "tree_s.cc".
std::string clientStubName(std::string_view idlPath);
std::string serverStubName(std::string_view idlPath);

// The stubs of the compilation's main module (which passed sema); the ACF's `include "x.h";`
// statements are #included.
std::string emitClientStub(const Compilation& compilation, std::string_view idlPath);
// `managerPrefix` is put before the manager routines' names in the default EPV ("m_" -> m_Sum).
std::string emitServerStub(const Compilation& compilation, std::string_view idlPath,
                           const std::string& managerPrefix = "");

}  // namespace warden::idl
