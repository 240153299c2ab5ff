// The syntax tree of MIDL files, as the parser reads them: nothing resolved yet (names are text,
// attributes are unchecked). Nodes live in the Module's arenas (std::deque: they never move) and
// point at each other without owning; every node has the Span sema reports against.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "idl/source.h"

namespace warden::idl::ast {

struct TypeSpec;

struct Expr {
  enum class Kind : std::uint8_t {
    kNumber,   // number
    kString,   // text (unquoted)
    kChar,     // number (the character's value)
    kName,     // text: a parameter, field, constant or enumerator
    kUnary,    // op a: - + ! ~ * (dereference) & (address)
    kBinary,   // a op b, including . and -> member access
    kTernary,  // a ? b : c
    kSizeof,   // sizeof(type): type; sizeof expr: a
    kCast,     // (type) a
    kEmpty,    // a missing argument: the first one of size_is(, *pcb)
    kStar,     // a lone '*' argument: size_is(*)
  };
  Kind kind = Kind::kEmpty;
  Span span;
  std::string_view op;
  std::uint64_t number = 0;
  std::string text;
  const Expr* a = nullptr;
  const Expr* b = nullptr;
  const Expr* c = nullptr;
  const TypeSpec* type = nullptr;
};

struct Declarator;

struct Attribute {
  std::string_view name;
  Span span;
  bool hasArgs = false;            // name(...) rather than name
  std::vector<const Expr*> args;   // expression arguments (empty ones are kEmpty)
  const TypeSpec* type = nullptr;  // the type argument of switch_type, transmit_as, ...
  int typePointers = 0;            // '*'s after that type
  // uuid and version: the argument as written; implicit_handle: the handle's name; attributes
  // the parser does not know: their arguments as written, for sema to judge.
  std::string raw;
  bool fromAcf = false;  // merged in from the application configuration file
  // An ACF typedef's attribute: the type name it was given for (one IDL typedef may declare
  // several names: NODE, *PNODE).
  std::string_view acfTarget;
};
using Attributes = std::vector<Attribute>;

struct ArrayDim {
  Span span;
  const Expr* size = nullptr;   // null: [] or [*]
  bool star = false;            // [*]
  const Expr* lower = nullptr;  // [lower..upper] (DCE bounds): lower
};

struct Declarator {
  std::string_view name;  // empty for an abstract declarator (an unnamed parameter)
  Span span;
  int pointers = 0;
  std::vector<bool> constPointer;  // per pointer level, outermost first: "* const"
  std::vector<ArrayDim> arrays;
  bool functionPointer = false;  // (*name)(...): reported by sema
};

struct Field {
  Attributes attributes;
  const TypeSpec* type = nullptr;
  Declarator declarator;
};

struct StructDef {
  Span span;
  std::string_view tag;
  bool hasBody = false;
  std::vector<Field> fields;
};

struct UnionArm {
  Span span;
  std::vector<const Expr*> cases;  // case labels; empty with isDefault
  bool isDefault = false;
  bool empty = false;  // "case 1: ;" carries nothing
  Field field;
};

struct UnionDef {
  Span span;
  std::string_view tag;
  bool hasBody = false;
  // Encapsulated union: union tag switch (type name) [unionName] { case ...: ... }
  bool encapsulated = false;
  const TypeSpec* switchType = nullptr;
  std::string_view switchName;
  std::string_view unionName;
  std::vector<UnionArm> arms;  // non-encapsulated: every member, with [case]/[default] attributes
};

struct Enumerator {
  std::string_view name;
  Span span;
  const Expr* value = nullptr;
};

struct EnumDef {
  Span span;
  std::string_view tag;
  bool hasBody = false;
  std::vector<Enumerator> enumerators;
};

struct TypeSpec {
  enum class Kind : std::uint8_t { kBase, kNamed, kStruct, kUnion, kEnum };
  Kind kind = Kind::kNamed;
  Span span;
  std::string name;  // kBase: canonical spelling ("unsigned long", "hyper"); kNamed: the name
  bool isConst = false;
  const StructDef* structDef = nullptr;
  const UnionDef* unionDef = nullptr;
  const EnumDef* enumDef = nullptr;
};

struct Typedef {
  Span span;
  Attributes attributes;
  const TypeSpec* type = nullptr;
  std::vector<Declarator> declarators;
};

struct Const {
  Span span;
  const TypeSpec* type = nullptr;
  Declarator declarator;
  const Expr* value = nullptr;
};

struct Param {
  Span span;
  Attributes attributes;
  const TypeSpec* type = nullptr;
  Declarator declarator;
};

struct Operation {
  Span span;
  Attributes attributes;
  const TypeSpec* returnType = nullptr;
  Declarator declarator;  // the name, and '*'s of the return type
  std::vector<Param> params;
};

struct Interface;

struct Item {
  enum class Kind : std::uint8_t {
    kImport,    // imports
    kCppQuote,  // text
    kTypedef,
    kTypeDecl,  // struct/union/enum declared without typedef
    kConst,
    kExtern,  // extern const FMTID FMTID_SummaryInformation;  (constDecl, no value)
    kOperation,
    kInterface,
  };
  Kind kind = Kind::kImport;
  Span span{};
  std::vector<std::string> imports{};
  std::vector<Span> importSpans{};
  std::string text{};
  const Typedef* typedefDecl = nullptr;
  const TypeSpec* typeDecl = nullptr;
  const Const* constDecl = nullptr;
  const Operation* operation = nullptr;
  const Interface* interface = nullptr;
};

struct Interface {
  Span span;
  Attributes attributes;
  std::string_view name;
  std::string_view base;  // ": IUnknown"
  bool forward = false;   // "interface X;"
  std::vector<Item> items;
};

// The application configuration file (ACF): attributes for an interface, its types, operations
// and parameters, which are named (never redeclared).
struct AcfName {  // typedef [attrs] NAME;  and a parameter: [attrs] name
  Span span;
  Attributes attributes;
  std::string_view name;
};
using AcfTypedef = AcfName;
using AcfParam = AcfName;
struct AcfOperation {
  Span span;
  Attributes attributes;
  std::string_view name;
  std::vector<AcfParam> params;
};
struct AcfInterface {
  Span span;
  Attributes attributes;
  std::string_view name;
  std::vector<AcfTypedef> typedefs;
  std::vector<AcfOperation> operations;
  std::vector<std::string> includes;  // include "x.h"; : headers the generated stubs include
};

// One parsed file and the nodes it owns.
struct Module {
  std::uint32_t file = 0;
  std::vector<Item> items;
  std::vector<AcfInterface> acf;  // an ACF module: its interfaces (items stays empty)

  // Arenas: a node's address is stable for the Module's life.
  std::deque<Expr> exprs;
  std::deque<TypeSpec> types;
  std::deque<StructDef> structs;
  std::deque<UnionDef> unions;
  std::deque<EnumDef> enums;
  std::deque<Typedef> typedefs;
  std::deque<Const> consts;
  std::deque<Operation> operations;
  std::deque<Interface> interfaces;
};

}  // namespace warden::idl::ast
