// The NDR "levels" IR (as in Samba's pidl): each parameter, struct member and union arm lowered
// once to the chain the wire sees, outermost first: POINTER (ref/unique/full, top-level or
// embedded), ARRAY (fixed, conformant and/or varying, string), SWITCH (a union's discriminant)
// and DATA (the type at the bottom). Pointer kinds follow MIDL's defaults: a parameter's own
// pointer is [ref] unless it says otherwise, every other pointer takes pointer_default (unique
// when the interface gives none), a returned pointer too. Generators read this, never the AST's
// attributes, and `warden idl --dump-ir` prints it for review.
#pragma once

#include <string>
#include <vector>

#include "idl/compiler.h"
#include "idl/symbols.h"

namespace warden::idl::ir {

enum class PointerKind : std::uint8_t { kRef, kUnique, kFull, kIgnore };

struct Level {
  enum class Kind : std::uint8_t { kPointer, kArray, kSwitch, kData };
  Kind kind = Kind::kData;
  // kPointer
  PointerKind pointer = PointerKind::kRef;
  bool topLevel = false;  // a parameter's own pointer: [ref] ones have no referent ID on the wire
  bool allNodes = false;  // ACF allocate(all_nodes) on the pointer's typedef: one block per graph
  bool dontFree =
      false;  // ACF allocate(dont_free): the server stub leaves the graph to the manager
  // kArray
  bool fixed = false;
  bool conformant = false;
  bool varying = false;
  bool isString = false;
  const ast::Expr* size = nullptr;    // fixed size, or size_is / max_is (conformance)
  const ast::Expr* length = nullptr;  // length_is (variance)
  const ast::Expr* first = nullptr;   // first_is
  // kSwitch
  const ast::Expr* switchIs = nullptr;
  // kData
  std::string type;       // "uint32", "char16", "NODE", "struct _NODE", "handle_t"
  Resolved resolved;      // what `type` denotes
  std::string rundown;    // a typedef'd context handle: its rundown routine ("CTX_rundown")
  std::string aggregate;  // a struct or union: its name in `Interface::types` ("struct _NODE")
};

struct Element {
  std::string_view name;
  Span span;
  bool in = false, out = false;                 // parameters only
  const ast::Attributes* attributes = nullptr;  // [range], ACF byte_count, ...
  const ast::Declarator* declarator = nullptr;
  const ast::TypeSpec* type = nullptr;
  std::vector<Level> levels;
  // A parameter whose type is a typedef with [handle] (a generic binding handle): that typedef's
  // name ("SRVSVC_HANDLE"), and how many of the declarator's own '*'s lie above the handle's
  // value. The client stub binds through the application's <name>_bind / <name>_unbind.
  std::string genericHandle;
  int genericHandlePointers = 0;
};

struct Function {
  std::string_view name;
  std::uint32_t opnum = 0;
  std::vector<Element> params;
  Element result;  // DATA(void) when it returns nothing
};

struct Aggregate {   // a struct or union with a body
  std::string name;  // "struct _NODE", "union _ARM"
  std::vector<Element> members;
  const ast::StructDef* structDef = nullptr;
  const ast::UnionDef* unionDef = nullptr;
  unsigned switchSize = 4;  // a union's discriminant on the wire: switch_type, or the
                            // encapsulated union's switch (long when neither says)
  std::string cName;        // the C type: "union _ARM"; an encapsulated union is "struct _E"
  bool shared = false;      // from an imported file or the file's scope, not this interface
};

struct Interface {
  std::string_view name;
  std::string uuid;
  std::string version;
  PointerKind pointerDefault = PointerKind::kUnique;
  bool enableAllocate = false;  // ACF [enable_allocate]
  std::vector<Aggregate> types;
  std::vector<Function> functions;
};

// Lowers every interface of the main module (which must have passed sema).
std::vector<Interface> build(const Compilation& compilation);

// The IR as indented text, one element per line: "[in] root: POINTER(ref, top) DATA(NODE)".
std::string dump(const std::vector<Interface>& interfaces);

}  // namespace warden::idl::ir
