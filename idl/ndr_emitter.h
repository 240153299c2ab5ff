// The NDR bodies of the stubs, generated from the levels IR as straight-line C++ over
// warden/ndr.h: for each struct an ndr_push (scalars in place, embedded referents deferred
// through functions generated per pointer) and an ndr_pull; for each operation the client stub
// (marshal [in], send, unmarshal [out] into the caller's memory) and the server stub (unmarshal
// into the call's scope, allocate [out] first levels, call the manager, marshal the reply, free
// what the manager allocated). A construct the generator does not handle yet becomes an #error
// naming it, so a stub that would marshal wrongly does not compile.
#pragma once

#include <set>
#include <string>

#include "idl/ast.h"
#include "idl/code_writer.h"
#include "idl/levels.h"

namespace warden::idl {

// ndr_push_<type> / ndr_pull_<type> templates for every struct and union `in`'s operations reach,
// skipping the ones already in `emitted` (a file's earlier interfaces) and adding the rest.
void emitNdrTypes(CodeWriter& w, const ir::Interface& in, std::set<std::string>& emitted);

// How a client stub binds: statements that make the binding (a generic handle's bind), and the
// handle_t expression (a handle_t parameter, a context handle's binding, the ACF's implicit
// handle, the interface's auto handle).
struct ClientBinding {
  std::string setup;
  std::string handle;
};

// The client stub of `op` (its IR is `f`), binding through `binding`.
void emitClientOperation(CodeWriter& w, const ir::Interface& in, const ir::Function& f,
                         const ast::Operation& op, const ClientBinding& binding,
                         const std::string& ifspec);

// The server stub s_<op>(const void* epv, ServerCall&) calling the manager through `epvType`.
void emitServerOperation(CodeWriter& w, const ir::Interface& in, const ir::Function& f,
                         const ast::Operation& op, const std::string& epvType);

}  // namespace warden::idl
