// Two passes: collect every name of every module into one namespace (MIDL's imports share it),
// then check each declaration against it. Types are resolved through typedef chains with a depth
// bound, so a typedef cycle is an error, not a hang.
#include "idl/sema.h"

#include <algorithm>
#include <map>
#include <set>

#include "idl/symbols.h"

namespace warden::idl {

namespace {

using ast::Attribute;
using ast::Attributes;
using ast::Expr;
using ast::TypeSpec;

// Where an attribute may appear.
enum Place : unsigned {
  kOnInterface = 1,
  kOnType = 2,   // typedef, struct/union/enum
  kOnField = 4,  // struct member, union arm
  kOnParam = 8,
  kOnOperation = 16,
  kAnywhere = 31,
};

struct KnownAttribute {
  std::string_view name;
  unsigned places;
};

// MIDL's attributes (IDL and ACF) and where each belongs.
constexpr KnownAttribute kAttributes[] = {
    {"uuid", kOnInterface | kOnType},
    {"version", kOnInterface},
    {"pointer_default", kOnInterface},
    {"endpoint", kOnInterface},
    {"ms_union", kOnInterface | kOnType},
    {"local", kOnInterface | kOnOperation},
    {"object", kOnInterface},
    {"async_uuid", kOnInterface},
    {"strict_context_handle", kOnInterface},
    {"type_strict_context_handle", kOnInterface},
    {"implicit_handle", kOnInterface},
    {"explicit_handle", kOnInterface | kOnOperation},
    {"auto_handle", kOnInterface},
    {"enable_allocate", kOnInterface},
    {"code", kOnInterface | kOnOperation},
    {"nocode", kOnInterface | kOnOperation},
    {"optimize", kOnInterface | kOnOperation},
    {"dual", kOnInterface},
    {"oleautomation", kOnInterface},
    {"nonextensible", kOnInterface},
    {"odl", kOnInterface},
    {"restricted", kOnInterface | kOnOperation},
    {"context_handle", kOnType | kOnParam | kOnOperation},
    {"handle", kOnType},
    {"public", kOnType},
    {"transmit_as", kOnType},
    {"represent_as", kOnType},
    {"wire_marshal", kOnType},
    {"user_marshal", kOnType},
    {"switch_type", kOnType | kOnField | kOnParam},
    {"v1_enum", kOnType},
    {"allocate", kOnType},
    {"in_line", kOnType},
    {"out_of_line", kOnType},
    {"encode", kOnInterface | kOnType | kOnOperation},
    {"decode", kOnInterface | kOnType | kOnOperation},
    {"string", kOnType | kOnField | kOnParam | kOnOperation},
    {"ref", kOnType | kOnField | kOnParam | kOnOperation},
    {"unique", kOnType | kOnField | kOnParam | kOnOperation},
    {"ptr", kOnType | kOnField | kOnParam | kOnOperation},
    {"range", kOnType | kOnField | kOnParam},
    {"size_is", kOnField | kOnParam},
    {"max_is", kOnField | kOnParam},
    {"min_is", kOnField | kOnParam},
    {"length_is", kOnField | kOnParam},
    {"first_is", kOnField | kOnParam},
    {"last_is", kOnField | kOnParam},
    {"switch_is", kOnField | kOnParam},
    {"iid_is", kOnField | kOnParam},
    {"ignore", kOnField},
    {"case", kOnField},
    {"default", kOnField},
    {"in", kOnParam},
    {"out", kOnParam},
    {"retval", kOnParam},
    {"comm_status", kOnParam | kOnOperation},
    {"fault_status", kOnParam | kOnOperation},
    {"byte_count", kOnParam},
    {"force_allocate", kOnParam | kOnOperation},
    {"partial_ignore", kOnParam},
    {"defaultvalue", kOnParam},
    {"optional", kOnParam},
    {"lcid", kOnInterface | kOnParam},
    {"idempotent", kOnOperation},
    {"broadcast", kOnOperation},
    {"maybe", kOnOperation},
    {"callback", kOnOperation},
    {"call_as", kOnOperation},
    {"async", kOnOperation},
    {"notify", kOnOperation},
    {"notify_flag", kOnOperation},
    {"annotation", kAnywhere},
    {"helpstring", kAnywhere},
    {"helpcontext", kAnywhere},
    {"helpfile", kAnywhere},
    {"helpstringcontext", kAnywhere},
    {"hidden", kAnywhere},
    {"id", kAnywhere},
    {"custom", kAnywhere},
    {"description", kAnywhere},
    // COM (object interfaces): parsed and checked for place; NDR for them is out of scope.
    {"propget", kOnOperation},
    {"propput", kOnOperation},
    {"propputref", kOnOperation},
    {"vararg", kOnOperation},
    {"source", kAnywhere},
    {"bindable", kOnOperation},
    {"defaultbind", kOnOperation},
    {"displaybind", kOnOperation},
    {"requestedit", kOnOperation},
    {"immediatebind", kOnOperation},
    {"nonbrowsable", kAnywhere},
    {"readonly", kAnywhere},
    {"aggregatable", kOnInterface},
    {"noncreatable", kOnInterface},
    {"appobject", kOnInterface},
    {"licensed", kOnInterface},
    {"control", kOnInterface},
    {"replaceable", kAnywhere},
    {"uidefault", kAnywhere},
    {"usesgetlasterror", kOnOperation},
    {"defaultcollelem", kOnOperation},
    {"defaultvtable", kOnInterface},
    {"threading", kOnInterface},
    {"progid", kOnInterface},
};

const KnownAttribute* known(std::string_view name) {
  for (const KnownAttribute& a : kAttributes) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

// Attributes that belong in the application configuration file, never in the IDL (and the only
// ones an ACF may give).
bool acfAttribute(std::string_view name) {
  static constexpr std::string_view kAcf[] = {
      "allocate",     "byte_count",      "implicit_handle", "explicit_handle",
      "auto_handle",  "enable_allocate", "comm_status",     "fault_status",
      "represent_as", "in_line",         "out_of_line",     "force_allocate",
      "code",         "nocode",          "optimize",        "encode",
      "decode",       "notify",          "notify_flag"};
  for (std::string_view a : kAcf) {
    if (a == name) return true;
  }
  return false;
}

// Attributes go-msrpc added to its copies of the protocol IDLs (the shared corpus): not MIDL's;
// reported as warnings and ignored.
bool vendorExtension(std::string_view name) {
  return name.rfind("goext_", 0) == 0 || name == "pad";
}

std::string_view placeName(unsigned place) {
  switch (place) {
    case kOnInterface:
      return "an interface";
    case kOnType:
      return "a type";
    case kOnField:
      return "a member";
    case kOnParam:
      return "a parameter";
    default:
      return "an operation";
  }
}

class Checker {
 public:
  explicit Checker(Compilation& compilation)
      : c_(compilation), d_(compilation.diagnostics()), symbols_(d_) {}

  void run() {
    for (const ast::Module& m : c_.modules()) symbols_.collect(m.items);
    for (const ast::Module& m : c_.modules()) {
      checkItems(m.items, nullptr);
    }
  }

 private:
  struct Interface {
    bool refDefault = false;  // pointer_default(ref)
  };

  // ---- Checking ----
  void checkAttributes(const Attributes& attrs, unsigned place) {
    std::set<std::pair<std::string_view, std::string_view>> seen;
    for (const Attribute& a : attrs) {
      if (!seen.insert({a.name, a.acfTarget}).second && a.name != "case" && a.name != "endpoint") {
        d_.error(a.span, "[{}] given twice", a.name);
      }
      if (vendorExtension(a.name)) {
        d_.warning(a.span, "[{}] is a go-msrpc extension, not MIDL: ignored", a.name);
        continue;
      }
      const KnownAttribute* k = known(a.name);
      if (k != nullptr && a.fromAcf && !acfAttribute(a.name)) {
        d_.error(a.span, "[{}] is an IDL attribute: it cannot be given in the ACF", a.name);
        continue;
      }
      if (k != nullptr && !a.fromAcf && acfAttribute(a.name)) {
        d_.error(a.span, "[{}] belongs in the application configuration file (ACF), not the IDL",
                 a.name);
        continue;
      }
      if (a.name == "allocate") checkAllocate(a);
      if (k == nullptr) {
        d_.error(a.span, "unknown attribute [{}]", a.name);
      } else if ((k->places & place) == 0) {
        d_.error(a.span, "[{}] does not apply to {}", a.name, placeName(place));
      }
    }
  }

  void checkItems(const std::vector<ast::Item>& items, const ast::Interface* in) {
    for (const ast::Item& item : items) {
      switch (item.kind) {
        case ast::Item::Kind::kInterface:
          checkInterface(*item.interface);
          break;
        case ast::Item::Kind::kTypedef:
          checkTypedef(*item.typedefDecl);
          break;
        case ast::Item::Kind::kTypeDecl:
          checkTypeBody(item.typeDecl);
          break;
        case ast::Item::Kind::kConst:
        case ast::Item::Kind::kExtern:
          checkExpr(item.constDecl->value, nullptr, nullptr);
          checkType(item.constDecl->type);
          break;
        case ast::Item::Kind::kOperation:
          if (in == nullptr) {
            d_.error(item.operation->declarator.span, "operation '{}' outside an interface",
                     item.operation->declarator.name);
          }
          checkOperation(*item.operation, in);
          break;
        default:
          break;
      }
    }
  }

  // allocate(single_node | all_nodes, free | dont_free, on_null, all_nodes_aligned)
  void checkAllocate(const Attribute& a) {
    std::set<std::string_view> given;
    for (const Expr* e : a.args) {
      if (e->kind != Expr::Kind::kName ||
          (e->text != "single_node" && e->text != "all_nodes" && e->text != "free" &&
           e->text != "dont_free" && e->text != "on_null" && e->text != "all_nodes_aligned")) {
        d_.error(e->span,
                 "allocate() takes single_node, all_nodes, free, dont_free, on_null or "
                 "all_nodes_aligned");
        continue;
      }
      given.insert(e->text);
    }
    if (given.count("single_node") && given.count("all_nodes")) {
      d_.error(a.span, "allocate(single_node, all_nodes): choose one");
    }
    if (given.count("free") && given.count("dont_free")) {
      d_.error(a.span, "allocate(free, dont_free): choose one");
    }
    if (a.args.empty()) d_.error(a.span, "allocate() needs at least one mode");
  }

  void checkInterface(const ast::Interface& in) {
    checkAttributes(in.attributes, kOnInterface);
    if (in.forward) return;
    if (!in.base.empty() && !symbols_.isInterface(in.base)) {
      d_.error(in.span, "interface {} derives from {}, which is not declared", in.name, in.base);
    }
    bool local = findAttribute(in.attributes, "local") || findAttribute(in.attributes, "object");
    const Attribute* uuid = findAttribute(in.attributes, "uuid");
    // An interface that only declares types (MIDL's idiom for shared type files) needs no uuid.
    if (!uuid && !local && !operationsOf(in).empty()) {
      d_.error(in.span, "interface {} has no [uuid] (required unless it is [local] or [object])",
               in.name);
    } else if (uuid && !validUuid(uuid->raw)) {
      d_.error(uuid->span, "[uuid({})] is not a UUID of the form 8-4-4-4-12 hex digits", uuid->raw);
    }
    if (const Attribute* v = findAttribute(in.attributes, "version"); v && !validVersion(v->raw)) {
      d_.error(v->span, "[version({})] must be MAJOR or MAJOR.MINOR, each 0..65535", v->raw);
    }
    interface_.refDefault = false;
    if (const Attribute* pd = findAttribute(in.attributes, "pointer_default")) {
      if (pd->args.size() != 1 || pd->args[0]->kind != Expr::Kind::kName ||
          (pd->args[0]->text != "ref" && pd->args[0]->text != "unique" &&
           pd->args[0]->text != "ptr")) {
        d_.error(pd->span, "pointer_default takes one of ref, unique, ptr");
      } else {
        interface_.refDefault = pd->args[0]->text == "ref";
      }
    }
    std::map<std::string_view, Span> operations;
    for (const ast::Item& item : in.items) {
      if (item.kind != ast::Item::Kind::kOperation) continue;
      const ast::Declarator& d = item.operation->declarator;
      // COM properties: [propget] and [propput] accessors share their property's name.
      const Attributes& attrs = item.operation->attributes;
      if (findAttribute(attrs, "propget") || findAttribute(attrs, "propput") ||
          findAttribute(attrs, "propputref")) {
        continue;
      }
      auto [it, inserted] = operations.emplace(d.name, d.span);
      if (!inserted) {
        d_.error(d.span, "operation '{}' declared twice in interface {}", d.name, in.name);
        d_.note(it->second, "the first declaration");
      }
    }
    checkItems(in.items, &in);
  }

  static bool validUuid(std::string_view u) {
    if (u.size() != 36) return false;
    for (std::size_t i = 0; i < u.size(); ++i) {
      bool dash = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash ? u[i] != '-' : !std::isxdigit(static_cast<unsigned char>(u[i]))) return false;
    }
    return true;
  }
  static bool validVersion(std::string_view v) {
    std::size_t dot = v.find('.');
    auto part = [](std::string_view p) {
      if (p.empty() || p.size() > 5) return false;
      unsigned n = 0;
      for (char c : p) {
        if (c < '0' || c > '9') return false;
        n = n * 10 + static_cast<unsigned>(c - '0');
      }
      return n <= 65535;
    };
    return dot == std::string_view::npos ? part(v)
                                         : part(v.substr(0, dot)) && part(v.substr(dot + 1));
  }

  void checkType(const TypeSpec* t) {
    if (t->kind == TypeSpec::Kind::kNamed && !symbols_.typedefNamed(t->name) &&
        !symbols_.isInterface(t->name) && dceType(t->name).kind == Resolved::Kind::kUnknown) {
      d_.error(t->span, "unknown type '{}'", t->name);
    }
    if (t->kind == TypeSpec::Kind::kBase && baseType(t->name).kind == Resolved::Kind::kUnknown) {
      d_.error(t->span, "'{}' is not a MIDL type", t->name);
    }
    checkTypeBody(t);
  }

  void checkTypeBody(const TypeSpec* t) {
    if (t->structDef && t->structDef->hasBody) {
      std::map<std::string_view, Span> names;
      const std::vector<ast::Field>& fields = t->structDef->fields;
      for (const ast::Field& f : fields) {
        if (f.declarator.name.empty()) continue;
        auto [it, inserted] = names.emplace(f.declarator.name, f.declarator.span);
        if (!inserted) {
          d_.error(f.declarator.span, "member '{}' declared twice", f.declarator.name);
          d_.note(it->second, "the first declaration");
        }
      }
      for (std::size_t i = 0; i < fields.size(); ++i) {
        checkElement(fields[i].attributes, fields[i].type, fields[i].declarator, kOnField, &fields,
                     nullptr, i + 1 == fields.size());
      }
    }
    if (t->unionDef && t->unionDef->hasBody) checkUnion(*t->unionDef);
    if (t->enumDef && t->enumDef->hasBody) {
      for (const ast::Enumerator& e : t->enumDef->enumerators) {
        if (e.value) checkExpr(e.value, nullptr, nullptr);
      }
    }
  }

  void checkUnion(const ast::UnionDef& u) {
    if (u.encapsulated) {
      Resolved s = symbols_.resolve(u.switchType);
      checkType(u.switchType);
      if (s.kind != Resolved::Kind::kUnknown && !s.integral()) {
        d_.error(u.switchType->span,
                 "a union discriminant must be an integer, char, boolean or "
                 "enum type");
      }
    }
    std::set<std::uint64_t> labels;
    bool sawDefault = false, undiscriminated = false;
    for (const ast::UnionArm& arm : u.arms) {
      std::vector<const Expr*> cases = arm.cases;
      bool isDefault = arm.isDefault;
      if (!u.encapsulated) {
        const Attribute* c = findAttribute(arm.field.attributes, "case");
        if (c) cases.insert(cases.end(), c->args.begin(), c->args.end());
        isDefault |= findAttribute(arm.field.attributes, "default") != nullptr;
        undiscriminated |= !c && !isDefault;
      }
      if (isDefault) {
        if (sawDefault) d_.error(arm.span, "a second default arm");
        sawDefault = true;
      }
      for (const Expr* e : cases) {
        checkExpr(e, nullptr, nullptr);
        std::optional<std::uint64_t> v = evaluate(e);
        if (v && !labels.insert(*v).second) {
          d_.error(e->span, "case value {} appears twice", static_cast<std::int64_t>(*v));
        }
      }
      if (!arm.empty) {
        checkElement(arm.field.attributes, arm.field.type, arm.field.declarator, kOnField, nullptr,
                     nullptr, false);
      }
    }
    // A plain C union (MS-DTYP has a few): fine in a header, but NDR cannot carry it.
    if (undiscriminated) {
      d_.warning(u.span,
                 "union {}has members without [case] or [default]: it cannot be "
                 "transmitted, only used locally",
                 u.tag.empty() ? std::string() : std::string(u.tag) + " ");
    }
  }

  void checkTypedef(const ast::Typedef& td) {
    checkAttributes(td.attributes, kOnType);
    checkType(td.type);
    // typedef A B; typedef B A;  names nothing: each typedef of the cycle reports it.
    for (const ast::Declarator& d : td.declarators) {
      std::vector<std::string_view> chain = {d.name};
      for (const TypeSpec* t = td.type; t->kind == TypeSpec::Kind::kNamed && chain.size() < 64;) {
        if (t->name == d.name) {
          d_.error(d.span, "typedef cycle: {} -> {}", fmt::join(chain, " -> "), d.name);
          break;
        }
        chain.push_back(t->name);
        const Symbols::TypeName* next = symbols_.typedefNamed(t->name);
        if (next == nullptr) break;
        t = next->typedefDecl->type;
      }
    }
    for (const ast::Declarator& d : td.declarators) {
      if (d.functionPointer) {
        d_.error(d.span,
                 "'{}' is a function pointer: MIDL cannot send code across address "
                 "spaces (use an interface or an opnum instead)",
                 d.name);
      }
    }
    if (const Attribute* ch = findAttribute(td.attributes, "context_handle")) {
      for (const ast::Declarator& d : td.declarators) {
        Resolved r = symbols_.resolveName(Symbols::TypeName{&td, &d});
        if (r.pointers == 0 && r.kind != Resolved::Kind::kHandle) {
          d_.error(ch->span, "a [context_handle] type must be a pointer (void*)");
        }
      }
    }
  }

  // One struct member, union arm or parameter: attributes, type, array and pointer rules.
  // `siblings` (struct members) or `params` name what size_is may refer to.
  void checkElement(const Attributes& attrs, const TypeSpec* type, const ast::Declarator& d,
                    unsigned place, const std::vector<ast::Field>* siblings,
                    const std::vector<ast::Param>* params, bool last) {
    if (place != kOnParam) checkAttributes(attrs, place);
    checkType(type);
    if (d.functionPointer) {
      d_.error(d.span, "'{}' is a function pointer: MIDL cannot send code across address spaces",
               d.name);
      return;
    }
    Resolved r = symbols_.resolve(type);
    const int pointers = r.pointers + d.pointers;
    const bool conformantArray =
        !d.arrays.empty() && (d.arrays.front().size == nullptr || d.arrays.front().star);
    for (std::string_view sizing : {"size_is", "max_is", "min_is"}) {
      if (const Attribute* a = findAttribute(attrs, sizing)) {
        if (pointers == 0 && d.arrays.empty() && !r.array) {
          d_.error(a->span, "[{}] on '{}', which is neither a pointer nor an array", sizing,
                   d.name);
        }
        for (const Expr* e : a->args) checkExpr(e, siblings, params);
      }
    }
    for (std::string_view varying : {"length_is", "first_is", "last_is"}) {
      if (const Attribute* a = findAttribute(attrs, varying)) {
        for (const Expr* e : a->args) checkExpr(e, siblings, params);
        bool fixed = !d.arrays.empty() && !conformantArray;
        if (!fixed && !findAttribute(attrs, "size_is") && !findAttribute(attrs, "max_is") &&
            !r.array) {
          d_.error(a->span,
                   "[{}] on '{}' without [size_is] or [max_is]: only a fixed array "
                   "may be varying alone",
                   varying, d.name);
        }
      }
    }
    if (conformantArray && siblings != nullptr && !last && place == kOnField) {
      d_.error(d.span, "conformant array '{}' must be the last member of its struct", d.name);
    }
    if (const Attribute* a = findAttribute(attrs, "range")) {
      if (a->args.size() != 2) d_.error(a->span, "[range] takes two values: range(min, max)");
      for (const Expr* e : a->args) checkExpr(e, nullptr, nullptr);
    }
    if (const Attribute* a = findAttribute(attrs, "switch_is")) {
      for (const Expr* e : a->args) checkExpr(e, siblings, params);
      checkSwitchIs(*a, r, attrs, siblings, params, d);
    }
    if (const Attribute* a = findAttribute(attrs, "iid_is")) {
      for (const Expr* e : a->args) checkExpr(e, siblings, params);
    }
    if (findAttribute(attrs, "string") && r.kind != Resolved::Kind::kChar &&
        r.kind != Resolved::Kind::kWchar &&
        !(r.kind == Resolved::Kind::kInteger && (r.size == 1 || r.size == 2)) &&
        r.kind != Resolved::Kind::kUnknown && r.kind != Resolved::Kind::kStruct) {
      d_.error(findAttribute(attrs, "string")->span,
               "[string] on '{}', which is not an array of "
               "char, wchar_t or byte",
               d.name);
    }
  }

  // switch_is(x): the element is a non-encapsulated union (or points to one) and x is an
  // integer whose size matches the union's switch_type.
  void checkSwitchIs(const Attribute& a, const Resolved& element, const Attributes& attrs,
                     const std::vector<ast::Field>* siblings, const std::vector<ast::Param>* params,
                     const ast::Declarator& d) {
    if (element.kind != Resolved::Kind::kUnion && element.kind != Resolved::Kind::kUnknown) {
      d_.error(a.span, "[switch_is] on '{}', which is not a union", d.name);
      return;
    }
    if (a.args.size() != 1) {
      d_.error(a.span, "[switch_is] takes one expression");
      return;
    }
    std::optional<Resolved> discriminant = typeOf(a.args[0], siblings, params);
    if (!discriminant || discriminant->kind == Resolved::Kind::kUnknown) return;
    if (!discriminant->integral() || discriminant->pointers != 0) {
      d_.error(a.args[0]->span, "the [switch_is] value of '{}' is not an integer", d.name);
      return;
    }
    const Attribute* st = findAttribute(attrs, "switch_type");
    if (!st && element.unionAttributes) st = findAttribute(*element.unionAttributes, "switch_type");
    if (st && st->type) {
      Resolved want = symbols_.resolve(st->type);
      if (want.kind != Resolved::Kind::kUnknown && want.size != discriminant->size) {
        d_.error(a.args[0]->span,
                 "[switch_is] of '{}' is a {}-byte value but the union's switch_type is {} "
                 "bytes",
                 d.name, discriminant->size, want.size);
      }
    }
  }

  // The type of a switch_is/size_is operand: a sibling, a parameter (through '*'), a constant.
  std::optional<Resolved> typeOf(const Expr* e, const std::vector<ast::Field>* siblings,
                                 const std::vector<ast::Param>* params) {
    int derefs = 0;
    while (e->kind == Expr::Kind::kUnary && e->op == "*") {
      ++derefs;
      e = e->a;
    }
    if (e->kind != Expr::Kind::kName) return std::nullopt;
    Resolved r;
    bool found = false;
    if (siblings) {
      for (const ast::Field& f : *siblings) {
        if (f.declarator.name == e->text) {
          r = symbols_.resolve(f.type);
          r.pointers += f.declarator.pointers;
          found = true;
        }
      }
    }
    if (params && !found) {
      for (const ast::Param& p : *params) {
        if (p.declarator.name == e->text) {
          r = symbols_.resolve(p.type);
          r.pointers += p.declarator.pointers;
          found = true;
        }
      }
    }
    if (!found) {
      const auto* v = symbols_.value(e->text);
      if (v == nullptr) return std::nullopt;
      r = v->second;
    }
    r.pointers -= derefs;
    return r;
  }

  // Names in an expression resolve to a member (`siblings`), a parameter (`params`), a constant
  // or an enumerator.
  void checkExpr(const Expr* e, const std::vector<ast::Field>* siblings,
                 const std::vector<ast::Param>* params, int depth = 0) {
    if (e == nullptr || depth > 256) return;
    if (e->kind == Expr::Kind::kName) {
      if (e->text == "TRUE" || e->text == "FALSE" || e->text == "NULL") return;
      bool found = symbols_.value(e->text) != nullptr;
      if (siblings) {
        for (const ast::Field& f : *siblings) found |= f.declarator.name == e->text;
      }
      if (params) {
        for (const ast::Param& p : *params) found |= p.declarator.name == e->text;
      }
      if (!found) {
        d_.error(e->span, "'{}' is not {}", e->text,
                 siblings ? "a member of this struct or a constant"
                 : params ? "a parameter of this operation or a constant"
                          : "a constant");
      }
      return;
    }
    if (e->kind == Expr::Kind::kBinary && (e->op == "." || e->op == "->")) {
      checkExpr(e->a, siblings, params, depth + 1);  // the member name is checked by NDR later
      return;
    }
    if (e->kind == Expr::Kind::kSizeof || e->kind == Expr::Kind::kCast) {
      if (e->type) checkType(e->type);
    }
    checkExpr(e->a, siblings, params, depth + 1);
    checkExpr(e->b, siblings, params, depth + 1);
    checkExpr(e->c, siblings, params, depth + 1);
  }

  // A constant expression's value, when it has one.
  std::optional<std::uint64_t> evaluate(const Expr* e, int depth = 0) {
    if (e == nullptr || depth > 256) return std::nullopt;
    switch (e->kind) {
      case Expr::Kind::kNumber:
      case Expr::Kind::kChar:
        return e->number;
      case Expr::Kind::kUnary: {
        auto a = evaluate(e->a, depth + 1);
        if (!a) return std::nullopt;
        if (e->op == "-") return 0 - *a;
        if (e->op == "+") return *a;
        if (e->op == "~") return ~*a;
        if (e->op == "!") return *a == 0;
        return std::nullopt;
      }
      case Expr::Kind::kBinary: {
        auto a = evaluate(e->a, depth + 1), b = evaluate(e->b, depth + 1);
        if (!a || !b) return std::nullopt;
        if (e->op == "+") return *a + *b;
        if (e->op == "-") return *a - *b;
        if (e->op == "*") return *a * *b;
        if (e->op == "/" && *b) return *a / *b;
        if (e->op == "%" && *b) return *a % *b;
        if (e->op == "<<") return *a << (*b & 63);
        if (e->op == ">>") return *a >> (*b & 63);
        if (e->op == "|") return *a | *b;
        if (e->op == "&") return *a & *b;
        if (e->op == "^") return *a ^ *b;
        return std::nullopt;
      }
      default:
        return std::nullopt;
    }
  }

  void checkOperation(const ast::Operation& op, const ast::Interface* in) {
    checkAttributes(op.attributes, kOnOperation);
    checkType(op.returnType);
    Resolved ret = symbols_.resolve(op.returnType);
    // A returned pointer takes pointer_default when nothing says otherwise (MIDL's rule), so
    // pointer_default(ref) makes it [ref] too.
    const bool explicitKind = findAttribute(op.attributes, "unique") ||
                              findAttribute(op.attributes, "ptr") || ret.pointers > 0;
    if (op.declarator.pointers + ret.pointers > 0 &&
        (findAttribute(op.attributes, "ref") || ret.isRefPointer ||
         (interface_.refDefault && !explicitKind))) {
      d_.error(op.declarator.span,
               "'{}' returns a [ref] pointer: a return value can only be a "
               "[unique] or [ptr] pointer",
               op.declarator.name);
    }
    std::map<std::string_view, Span> names;
    for (std::size_t i = 0; i < op.params.size(); ++i) {
      const ast::Param& p = op.params[i];
      checkAttributes(p.attributes, kOnParam);
      if (p.declarator.name.empty()) {
        d_.error(p.span, "parameter {} of '{}' has no name", i + 1, op.declarator.name);
      } else if (auto [it, inserted] = names.emplace(p.declarator.name, p.declarator.span);
                 !inserted) {
        d_.error(p.declarator.span, "parameter '{}' declared twice", p.declarator.name);
      }
      checkElement(p.attributes, p.type, p.declarator, kOnParam, nullptr, &op.params, false);
      checkDirection(op, p, i);
    }
    checkStatus(op, "comm_status");
    checkStatus(op, "fault_status");
    (void)in;
  }

  // ACF [comm_status] / [fault_status]: once per operation, on an operation returning
  // error_status_t or on one [out] error_status_t* parameter.
  void checkStatus(const ast::Operation& op, std::string_view name) {
    const Attribute* first = findAttribute(op.attributes, name);
    if (first != nullptr && !errorStatus(op.returnType, op.declarator.pointers)) {
      d_.error(first->span, "[{}] on operation '{}' needs it to return error_status_t", name,
               op.declarator.name);
    }
    for (const ast::Param& p : op.params) {
      const Attribute* a = findAttribute(p.attributes, name);
      if (a == nullptr) continue;
      if (!findAttribute(p.attributes, "out") || findAttribute(p.attributes, "in") ||
          !errorStatus(p.type, p.declarator.pointers - 1) || !p.declarator.arrays.empty()) {
        d_.error(a->span, "[{}] parameter '{}' must be an [out] error_status_t*", name,
                 p.declarator.name);
      }
      if (first != nullptr) {
        d_.error(a->span,
                 "[{}] appears twice in '{}' (once per operation: on it or on one "
                 "parameter)",
                 name, op.declarator.name);
      }
      first = a;
    }
  }
  // `t` with `pointers` more '*'s is error_status_t (through typedefs).
  bool errorStatus(const ast::TypeSpec* t, int pointers) const {
    for (int depth = 0; t != nullptr && depth < 64; ++depth) {
      if (t->kind == ast::TypeSpec::Kind::kBase)
        return t->name == "error_status_t" && pointers == 0;
      if (t->kind != ast::TypeSpec::Kind::kNamed) return false;
      if (t->name == "error_status_t") return pointers == 0;
      const Symbols::TypeName* td = symbols_.typedefNamed(t->name);
      if (td == nullptr || !td->declarator->arrays.empty()) return false;
      pointers += td->declarator->pointers;
      t = td->typedefDecl->type;
    }
    return false;
  }

  void checkDirection(const ast::Operation& op, const ast::Param& p, std::size_t index) {
    const bool isIn = findAttribute(p.attributes, "in") != nullptr;
    const bool isOut = findAttribute(p.attributes, "out") != nullptr;
    Resolved r = symbols_.resolve(p.type);
    const int pointers = r.pointers + p.declarator.pointers;
    const std::string_view name = p.declarator.name;
    if (isOut && pointers == 0 && p.declarator.arrays.empty() && !r.array &&
        r.kind != Resolved::Kind::kUnknown) {
      d_.error(p.declarator.span, "[out] parameter '{}' must be a pointer or an array", name);
    }
    if (isOut && !isIn && p.declarator.pointers > 0) {
      for (std::string_view kind : {"unique", "ptr"}) {
        if (const Attribute* a = findAttribute(p.attributes, kind)) {
          d_.error(a->span,
                   "[out]-only parameter '{}' cannot be a [{}] pointer at the top level: the "
                   "client has nothing to say it is null (use [ref], or [in, out])",
                   name, kind);
        }
      }
    }
    if (findAttribute(p.attributes, "retval")) {
      if (!isOut || index + 1 != op.params.size()) {
        d_.error(findAttribute(p.attributes, "retval")->span,
                 "[retval] must be on the last parameter, "
                 "which must be [out]");
      }
    }
    if (r.kind == Resolved::Kind::kHandle && pointers == 0 && index != 0) {
      d_.error(p.declarator.span, "handle_t parameter '{}' must be the first parameter", name);
    }
    if (const Attribute* bc = findAttribute(p.attributes, "byte_count")) {
      if (!isOut || isIn) {
        d_.error(bc->span, "[byte_count] is for [out]-only parameters; '{}' is {}", name,
                 isIn && isOut ? "[in, out]" : "[in]");
      }
      if (bc->args.size() != 1 || bc->args[0]->kind != Expr::Kind::kName) {
        d_.error(bc->span, "[byte_count] takes the name of an [in] parameter");
      } else {
        const ast::Param* length = nullptr;
        for (const ast::Param& q : op.params) {
          if (q.declarator.name == bc->args[0]->text) length = &q;
        }
        if (length && (!findAttribute(length->attributes, "in") ||
                       findAttribute(length->attributes, "out"))) {
          d_.error(bc->args[0]->span,
                   "the [byte_count] length '{}' must be an [in]-only "
                   "parameter",
                   bc->args[0]->text);
        }
      }
    }
  }

  Compilation& c_;
  DiagnosticSink& d_;
  Symbols symbols_;
  Interface interface_;
};

}  // namespace

bool check(Compilation& compilation) {
  std::size_t before = compilation.diagnostics().errorCount();
  Checker(compilation).run();
  return compilation.diagnostics().errorCount() == before;
}

}  // namespace warden::idl
