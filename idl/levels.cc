// Lowering follows MIDL's reading of a declarator: `T* a[4]` is an array of pointers, size_is's
// n-th argument sizes the n-th pointer-or-array level, an attribute on a parameter applies to
// its own (top-level) pointer only, and typedef'd pointers bring their own [ref]/[unique]/[ptr].
#include "idl/levels.h"

#include <fmt/format.h>

#include <set>

#include "idl/print.h"

namespace warden::idl::ir {

namespace {

using ast::Attribute;
using ast::Attributes;
using ast::Expr;

std::string_view pointerName(PointerKind k) {
  switch (k) {
    case PointerKind::kRef:
      return "ref";
    case PointerKind::kUnique:
      return "unique";
    case PointerKind::kFull:
      return "full";
    case PointerKind::kIgnore:
      return "ignore";
  }
  return "?";
}

// The pointer kind an attribute list names, if any.
std::optional<PointerKind> explicitKind(const Attributes& attrs) {
  if (findAttribute(attrs, "ref")) return PointerKind::kRef;
  if (findAttribute(attrs, "unique")) return PointerKind::kUnique;
  if (findAttribute(attrs, "ptr")) return PointerKind::kFull;
  if (findAttribute(attrs, "ignore")) return PointerKind::kIgnore;
  return std::nullopt;
}

// The n-th argument of attribute `name` (null when absent or empty).
const Expr* nth(const Attributes& attrs, std::string_view name, std::size_t n) {
  const Attribute* a = findAttribute(attrs, name);
  if (a == nullptr || n >= a->args.size()) return nullptr;
  const Expr* e = a->args[n];
  return e->kind == Expr::Kind::kEmpty ? nullptr : e;
}

class Lowering {
 public:
  Lowering(const Symbols& symbols, PointerKind pointerDefault)
      : symbols_(symbols), default_(pointerDefault) {}

  Element element(const Attributes& attrs, const ast::TypeSpec* type, const ast::Declarator& d,
                  bool parameter) {
    Element e;
    e.name = d.name;
    e.span = d.span;
    e.attributes = &attrs;
    e.declarator = &d;
    e.type = type;
    if (parameter) {
      e.in = findAttribute(attrs, "in") != nullptr;
      e.out = findAttribute(attrs, "out") != nullptr;
      if (!e.in && !e.out) e.in = true;  // MIDL's default direction
    }
    std::size_t sized = 0;  // pointer-or-array levels that size_is/length_is arguments map onto
    auto sizedArray = [&](std::vector<Level>& out) {
      const Expr* size = nth(attrs, "size_is", sized);
      if (size == nullptr) size = nth(attrs, "max_is", sized);
      const Expr* length = nth(attrs, "length_is", sized);
      const Expr* first = nth(attrs, "first_is", sized);
      if (size || length || first) {
        Level a;
        a.kind = Level::Kind::kArray;
        a.conformant = size != nullptr;
        a.size = size;
        a.varying = length != nullptr || first != nullptr;
        a.length = length;
        a.first = first;
        out.push_back(a);
      }
      ++sized;
    };
    // Arrays of the declarator bind first in C: `T* a[4]` is four pointers.
    for (const ast::ArrayDim& dim : d.arrays) {
      Level a;
      a.kind = Level::Kind::kArray;
      if (dim.size && !dim.star) {
        a.fixed = true;
        a.size = dim.size;
        const Expr* length = nth(attrs, "length_is", sized);
        a.varying = length != nullptr;
        a.length = length;
        ++sized;
      } else {
        a.conformant = true;
        a.size = nth(attrs, "size_is", sized);
        if (a.size == nullptr) a.size = nth(attrs, "max_is", sized);
        a.length = nth(attrs, "length_is", sized);
        a.varying = a.length != nullptr;
        ++sized;
      }
      e.levels.push_back(a);
    }
    // The declarator's own pointers, outermost first.
    for (int i = 0; i < d.pointers; ++i) {
      Level p;
      p.kind = Level::Kind::kPointer;
      const bool own = i == 0 && d.arrays.empty();
      p.topLevel = parameter && own;
      std::optional<PointerKind> given = own ? explicitKind(attrs) : std::nullopt;
      p.pointer = given ? *given : (p.topLevel ? PointerKind::kRef : default_);
      e.levels.push_back(p);
      sizedArray(e.levels);
    }
    // Pointers and arrays a typedef brings.
    const ast::TypeSpec* bottom = type;
    bool typedefString = false;  // typedef [string] wchar_t* LPWSTR
    std::string contextTypedef;  // typedef [context_handle] void* NAME
    std::string dataName = typeName(type);
    for (int depth = 0; bottom->kind == ast::TypeSpec::Kind::kNamed && depth < 64; ++depth) {
      const Symbols::TypeName* td = symbols_.typedefNamed(bottom->name);
      if (td == nullptr) break;
      typedefString |= findAttribute(td->typedefDecl->attributes, "string") != nullptr;
      if (parameter && e.genericHandle.empty() &&
          findAttribute(td->typedefDecl->attributes, "handle") != nullptr) {
        e.genericHandle = std::string(bottom->name);
        e.genericHandlePointers = d.pointers;
      }
      if (td->declarator->pointers == 0 && td->declarator->arrays.empty()) {
        // An alias (typedef [handle] PWCHAR NAME): look through it only when pointers or arrays
        // lie beneath, so plain aliases keep their name.
        Resolved beneath = symbols_.resolveName(*td);
        if ((beneath.pointers == 0 && !beneath.array) || beneath.contextHandle) break;
        bottom = td->typedefDecl->type;
        continue;
      }
      for (int i = 0; i < td->declarator->pointers; ++i) {
        Level p;
        p.kind = Level::Kind::kPointer;
        p.topLevel = parameter && e.levels.empty();
        std::optional<PointerKind> given = explicitKind(attrs);
        if (!given || !p.topLevel) given = explicitKind(td->typedefDecl->attributes);
        p.pointer = given ? *given : (p.topLevel ? PointerKind::kRef : default_);
        for (const Attribute& a : td->typedefDecl->attributes) {
          if (a.name != "allocate" || (!a.acfTarget.empty() && a.acfTarget != bottom->name)) {
            continue;
          }
          for (const Expr* mode : a.args) {
            p.allNodes |= mode->text == "all_nodes";
            p.dontFree |= mode->text == "dont_free";
          }
        }
        if (findAttribute(td->typedefDecl->attributes, "context_handle")) {
          // A context handle is data (20 bytes on the wire), not a pointer.
          break;
        }
        e.levels.push_back(p);
        sizedArray(e.levels);
      }
      if (findAttribute(td->typedefDecl->attributes, "context_handle")) {
        dataName = std::string(bottom->name);
        contextTypedef = dataName;
        break;
      }
      for (const ast::ArrayDim& dim : td->declarator->arrays) {
        Level a;
        a.kind = Level::Kind::kArray;
        a.fixed = dim.size && !dim.star;
        a.conformant = !a.fixed;
        a.size = dim.size;
        e.levels.push_back(a);
      }
      bottom = td->typedefDecl->type;
      dataName = typeName(bottom);
    }
    // [string]: the innermost array (or a pointer's referent) holds a terminated string.
    if (findAttribute(attrs, "string") || typedefString) {
      if (e.levels.empty() || e.levels.back().kind != Level::Kind::kArray) {
        Level a;
        a.kind = Level::Kind::kArray;
        e.levels.push_back(a);
      }
      Level& a = e.levels.back();
      a.isString = true;
      if (!a.fixed) a.conformant = a.varying = true;  // max_count, offset, actual_count
    }
    if (const Expr* s = nth(attrs, "switch_is", 0)) {
      Level sw;
      sw.kind = Level::Kind::kSwitch;
      sw.switchIs = s;
      e.levels.push_back(sw);
    }
    Level data;
    data.kind = Level::Kind::kData;
    data.type = dataName;
    data.resolved = symbols_.resolve(bottom);
    if (!contextTypedef.empty()) {
      data.resolved.contextHandle = true;
      data.rundown = contextTypedef + "_rundown";
    } else if (findAttribute(attrs, "context_handle") && !e.levels.empty() &&
               e.levels.back().kind == Level::Kind::kPointer) {
      // [context_handle] void* h: the declarator's last '*' is the handle itself.
      e.levels.pop_back();
      data.resolved.contextHandle = true;
    }
    if (data.resolved.kind == Resolved::Kind::kStruct ||
        data.resolved.kind == Resolved::Kind::kUnion) {
      data.aggregate = aggregateName(bottom);
    }
    e.levels.push_back(data);
    return e;
  }

  // The struct or union a type ends in, by tag ("struct _NODE"), through typedefs.
  std::string aggregateName(const ast::TypeSpec* t) const {
    for (int depth = 0; t->kind == ast::TypeSpec::Kind::kNamed && depth < 64; ++depth) {
      const Symbols::TypeName* td = symbols_.typedefNamed(t->name);
      if (td == nullptr) return "";
      t = td->typedefDecl->type;
    }
    return typeName(t);
  }

  // An untagged struct or union, named by where it is written so each has its own name.
  static std::string anonymous(std::string_view kind, Span span) {
    return fmt::format("{} (anonymous {}:{})", kind, span.begin.file, span.begin.offset);
  }

  static std::string typeName(const ast::TypeSpec* t) {
    switch (t->kind) {
      case ast::TypeSpec::Kind::kBase:
        return t->name;
      case ast::TypeSpec::Kind::kNamed:
        return t->name;
      case ast::TypeSpec::Kind::kStruct:
        return t->structDef->tag.empty() ? anonymous("struct", t->structDef->span)
                                         : "struct " + std::string(t->structDef->tag);
      case ast::TypeSpec::Kind::kUnion:
        return t->unionDef->tag.empty() ? anonymous("union", t->unionDef->span)
                                        : "union " + std::string(t->unionDef->tag);
      case ast::TypeSpec::Kind::kEnum:
        return t->enumDef->tag.empty() ? "enum (anonymous)"
                                       : "enum " + std::string(t->enumDef->tag);
    }
    return "?";
  }

  void aggregates(const ast::TypeSpec* t, std::vector<Aggregate>& out,
                  const Attributes* typedefAttributes = nullptr) {
    if (t->structDef && t->structDef->hasBody) {
      Aggregate a;
      a.name = typeName(t);
      a.structDef = t->structDef;
      a.cName = a.name;
      for (const ast::Field& f : t->structDef->fields) {
        aggregates(f.type, out);
        a.members.push_back(element(f.attributes, f.type, f.declarator, false));
      }
      out.push_back(std::move(a));
    }
    if (t->unionDef && t->unionDef->hasBody) {
      Aggregate a;
      a.name = typeName(t);
      a.unionDef = t->unionDef;
      a.cName = t->unionDef->encapsulated && !t->unionDef->tag.empty()
                    ? "struct " + std::string(t->unionDef->tag)
                    : a.name;
      const ast::TypeSpec* switchType = t->unionDef->switchType;
      if (const Attribute* st =
              typedefAttributes ? findAttribute(*typedefAttributes, "switch_type") : nullptr) {
        switchType = st->type;
      }
      if (switchType) {
        Resolved r = symbols_.resolve(switchType);
        if (r.size) a.switchSize = r.size;
      }
      for (const ast::UnionArm& arm : t->unionDef->arms) {
        if (arm.empty) continue;
        aggregates(arm.field.type, out);
        a.members.push_back(
            element(arm.field.attributes, arm.field.type, arm.field.declarator, false));
      }
      out.push_back(std::move(a));
    }
  }

 private:
  const Symbols& symbols_;
  PointerKind default_;
};

void levelText(const Level& l, std::string& out) {
  switch (l.kind) {
    case Level::Kind::kPointer:
      out += fmt::format("POINTER({}{}{}{})", pointerName(l.pointer), l.topLevel ? ", top" : "",
                         l.allNodes ? ", all_nodes" : "", l.dontFree ? ", dont_free" : "");
      break;
    case Level::Kind::kArray: {
      std::vector<std::string> parts;
      if (l.fixed) parts.push_back("fixed " + exprText(l.size));
      if (l.conformant) parts.push_back(l.size ? "size " + exprText(l.size) : "conformant");
      if (l.varying) parts.push_back(l.length ? "length " + exprText(l.length) : "varying");
      if (l.first) parts.push_back("first " + exprText(l.first));
      if (l.isString) parts.push_back("string");
      out += fmt::format("ARRAY({})", fmt::join(parts, ", "));
      break;
    }
    case Level::Kind::kSwitch:
      out += fmt::format("SWITCH({})", exprText(l.switchIs));
      break;
    case Level::Kind::kData:
      out += fmt::format("DATA({})", l.type);
      break;
  }
}

std::string elementText(const Element& e, bool parameter) {
  std::string out;
  if (parameter) out += e.in && e.out ? "[in, out] " : e.out ? "[out] " : "[in] ";
  out += fmt::format("{}: ", e.name.empty() ? "(result)" : e.name);
  for (std::size_t i = 0; i < e.levels.size(); ++i) {
    if (i) out += ' ';
    levelText(e.levels[i], out);
  }
  return out;
}

}  // namespace

Lowering lower0(const Symbols& symbols) { return Lowering(symbols, PointerKind::kUnique); }

std::vector<Interface> build(const Compilation& compilation) {
  std::vector<Interface> out;
  const ast::Module* main = compilation.mainModule();
  if (main == nullptr) return out;
  DiagnosticSink alreadyReported;  // sema reported redefinitions
  Symbols symbols(alreadyReported);
  for (const ast::Module& m : compilation.modules()) symbols.collect(m.items);
  // Types an interface may use without declaring them: the file scope of every module and the
  // interfaces of imported modules (each lowered with its own interface's pointer default).
  std::vector<Aggregate> shared;
  for (const ast::Module& m : compilation.modules()) {
    Lowering top(symbols, PointerKind::kUnique);
    for (const ast::Item& item : m.items) {
      if (item.kind == ast::Item::Kind::kTypedef) {
        top.aggregates(item.typedefDecl->type, shared, &item.typedefDecl->attributes);
      } else if (item.kind == ast::Item::Kind::kTypeDecl) {
        top.aggregates(item.typeDecl, shared);
      } else if (item.kind == ast::Item::Kind::kInterface && &m != main &&
                 !item.interface->forward) {
        PointerKind pd = PointerKind::kUnique;
        if (const Attribute* a = findAttribute(item.interface->attributes, "pointer_default");
            a && !a->args.empty()) {
          pd = a->args[0]->text == "ref"   ? PointerKind::kRef
               : a->args[0]->text == "ptr" ? PointerKind::kFull
                                           : PointerKind::kUnique;
        }
        Lowering inner(symbols, pd);
        for (const ast::Item& i : item.interface->items) {
          if (i.kind == ast::Item::Kind::kTypedef) {
            inner.aggregates(i.typedefDecl->type, shared, &i.typedefDecl->attributes);
          } else if (i.kind == ast::Item::Kind::kTypeDecl) {
            inner.aggregates(i.typeDecl, shared);
          }
        }
      }
    }
  }
  // One definition of each (a type two imports both declare, or a main interface redeclares,
  // once).
  {
    std::set<std::string> seen;
    std::vector<Aggregate> unique;
    for (Aggregate& a : shared) {
      if (seen.insert(a.name).second) unique.push_back(std::move(a));
    }
    shared = std::move(unique);
  }
  for (Aggregate& a : shared) a.shared = true;
  for (const ast::Item& item : main->items) {
    if (item.kind != ast::Item::Kind::kInterface || item.interface->forward) continue;
    const ast::Interface& in = *item.interface;
    Interface ir;
    for (const ast::Item& inner : in.items) {
      if (inner.kind == ast::Item::Kind::kTypedef) {
        lower0(symbols).aggregates(inner.typedefDecl->type, ir.types);
      }
    }
    std::set<std::string> own;
    for (const Aggregate& a : ir.types) own.insert(a.name);
    ir.types.clear();
    for (const Aggregate& a : shared) {
      if (!own.count(a.name)) ir.types.push_back(a);
    }
    ir.name = in.name;
    if (const Attribute* u = findAttribute(in.attributes, "uuid")) ir.uuid = u->raw;
    ir.version = interfaceVersion(in);
    ir.enableAllocate = findAttribute(in.attributes, "enable_allocate") != nullptr;
    if (const Attribute* pd = findAttribute(in.attributes, "pointer_default");
        pd && !pd->args.empty()) {
      std::string_view k = pd->args[0]->text;
      ir.pointerDefault = k == "ref"   ? PointerKind::kRef
                          : k == "ptr" ? PointerKind::kFull
                                       : PointerKind::kUnique;
    }
    Lowering lower(symbols, ir.pointerDefault);
    // A COM interface's methods follow its base's in the vtable, and opnums count from there.
    const ast::Interface* base = findInterface(compilation.modules(), in.base);
    auto opnum =
        static_cast<std::uint32_t>(base ? methodsOf(compilation.modules(), *base).size() : 0);
    for (const ast::Item& inner : in.items) {
      if (inner.kind == ast::Item::Kind::kTypedef) {
        lower.aggregates(inner.typedefDecl->type, ir.types, &inner.typedefDecl->attributes);
      } else if (inner.kind == ast::Item::Kind::kTypeDecl) {
        lower.aggregates(inner.typeDecl, ir.types);
      } else if (inner.kind == ast::Item::Kind::kOperation) {
        const ast::Operation& op = *inner.operation;
        Function f;
        f.name = op.declarator.name;
        f.opnum = opnum++;
        for (const ast::Param& p : op.params) {
          f.params.push_back(lower.element(p.attributes, p.type, p.declarator, true));
        }
        ast::Declarator result;
        result.pointers = op.declarator.pointers;
        f.result = lower.element(op.attributes, op.returnType, result, false);
        ir.functions.push_back(std::move(f));
      }
    }
    out.push_back(std::move(ir));
  }
  return out;
}

std::string dump(const std::vector<Interface>& interfaces) {
  std::string out;
  for (const Interface& in : interfaces) {
    out += fmt::format("interface {} {} v{} pointer_default({})\n", in.name,
                       in.uuid.empty() ? "(no uuid)" : in.uuid, in.version,
                       pointerName(in.pointerDefault));
    for (const Aggregate& a : in.types) {
      if (a.shared) continue;
      out += fmt::format("  {}\n", a.name);
      for (const Element& m : a.members) out += "    " + elementText(m, false) + "\n";
    }
    for (const Function& f : in.functions) {
      out += fmt::format("  opnum {} {}\n", f.opnum, f.name);
      for (const Element& p : f.params) out += "    " + elementText(p, true) + "\n";
      out += "    " + elementText(f.result, false) + "\n";
    }
  }
  return out;
}

}  // namespace warden::idl::ir
