// The names of a compilation, shared by sema and the levels IR: typedefs, struct/union/enum
// tags, constants and enumerators in one namespace (MIDL's imports share it), and what a type
// denotes once its typedef chain is followed (kind, NDR size, pointers gathered on the way).
#pragma once

#include <deque>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "idl/ast.h"
#include "idl/diagnostics.h"

namespace warden::idl {

// What a type denotes after its typedefs.
struct Resolved {
  enum class Kind {
    kUnknown,
    kVoid,
    kInteger,
    kFloat,
    kChar,
    kWchar,
    kBoolean,
    kHandle,
    kStruct,
    kUnion,
    kEnum,
    kInterface  // an interface name used as a type (COM's IUnknown*)
  };
  Kind kind = Kind::kUnknown;
  unsigned size = 0;  // bytes, for integers, characters, enums, floats
  int pointers = 0;   // '*'s gathered through typedefs (not the declarator's own)
  bool array = false;
  bool contextHandle = false;
  bool isRefPointer = false;  // a typedef said [ref]
  const ast::UnionDef* unionDef = nullptr;
  const ast::Attributes* unionAttributes = nullptr;  // the typedef's (switch_type lives there)
  bool integral() const {
    return kind == Kind::kInteger || kind == Kind::kChar || kind == Kind::kWchar ||
           kind == Kind::kBoolean || kind == Kind::kEnum;
  }
};

// MIDL's base type `name` ("unsigned long", "hyper", ...), or kind kUnknown.
Resolved baseType(std::string_view name);
// A base type spelled with its NDR size for an LP64 C compiler ("unsigned long" -> "uint32_t",
// "wchar_t" -> "char16_t"); any other name unchanged.
std::string_view cSpelling(std::string_view midl);
// DCE nbase.idl's types (unsigned32, ...), which DCE files use without importing them.
Resolved dceType(std::string_view name);
// The attribute `name` in `attrs`, or null.
const ast::Attribute* findAttribute(const ast::Attributes& attrs, std::string_view name);

// The operations an interface declares, in order (its opnums, for an RPC interface).
std::vector<const ast::Operation*> operationsOf(const ast::Interface& in);
// "1.0" (or "1_0" with separator '_'): [version], with a missing minor as 0; "0.0" when absent.
std::string interfaceVersion(const ast::Interface& in, char separator = '.');
// The interface (not a forward declaration) called `name` in any of `modules`, or null.
const ast::Interface* findInterface(const std::deque<ast::Module>& modules, std::string_view name);
// A COM interface's methods in vtable order: its bases' (found in `modules`), then its own.
std::vector<const ast::Operation*> methodsOf(const std::deque<ast::Module>& modules,
                                             const ast::Interface& in);

class Symbols {
 public:
  struct TypeName {
    const ast::Typedef* typedefDecl;
    const ast::Declarator* declarator;
  };

  // Redefinitions found while collecting go to `diagnostics`.
  explicit Symbols(DiagnosticSink& diagnostics) : d_(diagnostics) {}
  // Adds every name declared in `items` (interfaces included).
  void collect(const std::vector<ast::Item>& items) { collectItems(items); }

  Resolved resolve(const ast::TypeSpec* t, int depth = 0) const;
  Resolved resolveName(const TypeName& n, int depth = 0) const;
  const TypeName* typedefNamed(std::string_view name) const {
    auto it = typedefs_.find(name);
    return it == typedefs_.end() ? nullptr : &it->second;
  }
  // A constant or enumerator: where it is defined and its type.
  const std::pair<Span, Resolved>* value(std::string_view name) const {
    auto it = values_.find(name);
    return it == values_.end() ? nullptr : &it->second;
  }
  const ast::StructDef* structTagged(std::string_view tag) const {
    return tagged(structTags_, tag);
  }
  // An interface (declared or only forward-declared) of this name.
  bool isInterface(std::string_view name) const { return interfaces_.count(name) > 0; }

 private:
  void collectItems(const std::vector<ast::Item>& items) {
    for (const ast::Item& item : items) {
      switch (item.kind) {
        case ast::Item::Kind::kInterface:
          interfaces_.insert(item.interface->name);
          collectItems(item.interface->items);
          break;
        case ast::Item::Kind::kTypedef:
          collectType(item.typedefDecl->type);
          for (const ast::Declarator& d : item.typedefDecl->declarators) {
            addTypedef(*item.typedefDecl, d);
          }
          break;
        case ast::Item::Kind::kTypeDecl:
          collectType(item.typeDecl);
          break;
        case ast::Item::Kind::kConst:
          addValue(item.constDecl->declarator.name, item.constDecl->declarator.span,
                   resolve(item.constDecl->type));
          break;
        default:
          break;
      }
    }
  }

  void collectType(const ast::TypeSpec* t) {
    if (t->structDef && t->structDef->hasBody) {
      addTag(structTags_, "struct", t->structDef->tag, t->structDef->span, t->structDef);
      for (const ast::Field& f : t->structDef->fields) collectType(f.type);
    }
    if (t->unionDef && t->unionDef->hasBody) {
      addTag(unionTags_, "union", t->unionDef->tag, t->unionDef->span, t->unionDef);
      for (const ast::UnionArm& arm : t->unionDef->arms) {
        if (!arm.empty) collectType(arm.field.type);
      }
    }
    if (t->enumDef && t->enumDef->hasBody) {
      addTag(enumTags_, "enum", t->enumDef->tag, t->enumDef->span, t->enumDef);
      Resolved e;
      e.kind = Resolved::Kind::kEnum;
      e.size = 2;
      for (const ast::Enumerator& en : t->enumDef->enumerators) addValue(en.name, en.span, e);
    }
  }

  template <typename Def>
  void addTag(std::map<std::string_view, const Def*>& tags, std::string_view what,
              std::string_view tag, Span span, const Def* def) {
    if (tag.empty()) return;
    auto [it, inserted] = tags.emplace(tag, def);
    if (!inserted && it->second != def) {
      d_.error(span, "redefinition of {} {}", what, tag);
      d_.note(it->second->span, "the previous definition");
    }
  }

  void addTypedef(const ast::Typedef& td, const ast::Declarator& d) {
    if (d.name.empty()) return;
    if (d.functionPointer) return;  // reported when checked
    auto [it, inserted] = typedefs_.emplace(d.name, TypeName{&td, &d});
    if (inserted) return;
    // C11 6.7p3: a typedef may be repeated for the same type.
    Resolved before = resolveName(it->second), now = resolveName(TypeName{&td, &d});
    if (before.kind == now.kind && before.size == now.size && before.pointers == now.pointers &&
        before.array == now.array && now.kind != Resolved::Kind::kUnknown &&
        now.kind != Resolved::Kind::kStruct && now.kind != Resolved::Kind::kUnion) {
      return;
    }
    d_.error(d.span, "redefinition of '{}' as a different type", d.name);
    d_.note(it->second.declarator->span, "the previous definition");
  }

  void addValue(std::string_view name, Span span, Resolved type) {
    if (name.empty()) return;
    auto [it, inserted] = values_.emplace(name, std::make_pair(span, type));
    if (!inserted) {
      d_.error(span, "redefinition of constant '{}'", name);
      d_.note(it->second.first, "the previous definition");
    }
  }

  Resolved resolveImpl(const ast::TypeSpec* t, int depth) const {
    Resolved r;
    switch (t->kind) {
      case ast::TypeSpec::Kind::kBase:
        return baseType(t->name);
      case ast::TypeSpec::Kind::kStruct:
        r.kind = Resolved::Kind::kStruct;
        return r;
      case ast::TypeSpec::Kind::kUnion:
        r.kind = Resolved::Kind::kUnion;
        r.unionDef = t->unionDef->hasBody ? t->unionDef : tagged(unionTags_, t->unionDef->tag);
        return r;
      case ast::TypeSpec::Kind::kEnum:
        r.kind = Resolved::Kind::kEnum;
        r.size = 2;
        return r;
      case ast::TypeSpec::Kind::kNamed: {
        auto it = typedefs_.find(t->name);
        if (it == typedefs_.end()) {
          if (interfaces_.count(t->name)) {
            r.kind = Resolved::Kind::kInterface;
            return r;
          }
          return dceType(t->name);
        }
        if (depth > 64) return r;
        return resolveNameImpl(it->second, depth + 1);
      }
    }
    return r;
  }

  template <typename Def>
  static const Def* tagged(const std::map<std::string_view, const Def*>& tags,
                           std::string_view tag) {
    auto it = tags.find(tag);
    return it == tags.end() ? nullptr : it->second;
  }

  Resolved resolveNameImpl(const TypeName& n, int depth) const {
    Resolved r = resolveImpl(n.typedefDecl->type, depth);
    r.pointers += n.declarator->pointers;
    r.array |= !n.declarator->arrays.empty();
    const ast::Attributes& attrs = n.typedefDecl->attributes;
    if (findAttribute(attrs, "context_handle")) r.contextHandle = true;
    if (findAttribute(attrs, "v1_enum") && r.kind == Resolved::Kind::kEnum) r.size = 4;
    if (findAttribute(attrs, "ref") && n.declarator->pointers > 0) r.isRefPointer = true;
    if (r.kind == Resolved::Kind::kUnion && n.declarator->pointers == 0) {
      r.unionAttributes = &attrs;
    }
    return r;
  }

  DiagnosticSink& d_;
  std::map<std::string_view, TypeName> typedefs_;
  std::map<std::string_view, const ast::StructDef*> structTags_;
  std::map<std::string_view, const ast::UnionDef*> unionTags_;
  std::map<std::string_view, const ast::EnumDef*> enumTags_;
  std::map<std::string_view, std::pair<Span, Resolved>> values_;
  std::set<std::string_view> interfaces_;
};

inline Resolved Symbols::resolve(const ast::TypeSpec* t, int depth) const {
  return resolveImpl(t, depth);
}
inline Resolved Symbols::resolveName(const TypeName& n, int depth) const {
  return resolveNameImpl(n, depth);
}

}  // namespace warden::idl
