// Each element's levels become code by one recursion per direction (push, pull). The object at a
// level is spelled as a C++ lvalue ("v.left", "(*root)", "buf"); a pointer's referent is written
// in place when the pointer starts at a parameter (the chain NDR keeps together) and otherwise
// deferred through a generated function that receives the containing struct, so size_is
// expressions over sibling fields still evaluate there.
#include "idl/ndr_emitter.h"

#include <fmt/format.h>

#include <functional>
#include <map>
#include <set>

#include "idl/header_emitter.h"
#include "idl/print.h"
#include "idl/symbols.h"

namespace warden::idl {

namespace {

using ir::Element;
using ir::Level;
using ir::PointerKind;
using Kind = Level::Kind;
using RKind = Resolved::Kind;

// How names in size_is/length_is/... expressions are spelled where the code runs.
struct Names {
  std::set<std::string_view> fields;  // names that are members of `prefix`
  std::string prefix;                 // "v."
  std::string rewrite(std::string_view name) const {
    return fields.count(name) ? prefix + std::string(name) : std::string(name);
  }
};

std::string exprCode(const ast::Expr* e, const Names& names) {
  if (e == nullptr) return "0";
  switch (e->kind) {
    case ast::Expr::Kind::kName:
      return names.rewrite(e->text);
    case ast::Expr::Kind::kUnary:
      return fmt::format("({}{})", e->op, exprCode(e->a, names));
    case ast::Expr::Kind::kBinary:
      if (e->op == "." || e->op == "->") {
        return fmt::format("{}{}{}", exprCode(e->a, names), e->op, exprText(e->b));
      }
      return fmt::format("({} {} {})", exprCode(e->a, names), e->op, exprCode(e->b, names));
    case ast::Expr::Kind::kTernary:
      return fmt::format("({} ? {} : {})", exprCode(e->a, names), exprCode(e->b, names),
                         exprCode(e->c, names));
    default:
      return exprText(e);
  }
}

// A C identifier from a type's name: "struct _NODE" -> "struct__NODE".
std::string identifierOf(std::string_view name) {
  std::string out;
  for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

// Where the code being written runs.
struct Site {
  std::string ctxType;  // the struct a deferred referent's function receives; empty: a parameter
  Names names;
  std::string label;     // "NODE.left", "Sum.root": names the field in error messages
  bool client = false;   // pulling into the caller's memory
  bool chain = false;    // inside a pointer chain that starts at a parameter: referents in place
  bool hoisted = false;  // the conformant array ending a struct: its max_count leads the struct
  bool outOnly = false;  // a client's [out]-only parameter: its storage holds nothing yet
  bool server = false;   // writing a server's reply
};

class Generator {
 public:
  explicit Generator(const ir::Interface& in) {
    for (const ir::Aggregate& a : in.types) aggregates_[a.name] = &a;
  }

  // Code that writes levels[i..] of `el`, the object at level i being `lv`.
  void push(std::string& out, const Element& el, std::size_t i, const std::string& lv,
            const Site& s, int depth) {
    const Level& l = el.levels[i];
    switch (l.kind) {
      case Kind::kPointer:
        pushPointer(out, el, i, lv, s, depth);
        return;
      case Kind::kArray:
        pushArray(out, el, i, lv, s, depth);
        return;
      case Kind::kSwitch:
        if (!switchedUnion(el, i)) return unsupported(out, s, "[switch_is] on this type");
        out += fmt::format("ndr_push_{}(e, {}, static_cast<std::int64_t>({}));\n",
                           identifierOf(aggregate(el.levels[i + 1])->name), lv,
                           exprCode(l.switchIs, s.names));
        return;
      case Kind::kData:
        pushData(out, el, l, lv, s);
        return;
    }
  }

  void pull(std::string& out, const Element& el, std::size_t i, const std::string& lv,
            const Site& s, int depth) {
    const Level& l = el.levels[i];
    switch (l.kind) {
      case Kind::kPointer:
        pullPointer(out, el, i, lv, s, depth);
        return;
      case Kind::kArray:
        pullArray(out, el, i, lv, s, depth);
        return;
      case Kind::kSwitch:
        if (!switchedUnion(el, i)) return unsupported(out, s, "[switch_is] on this type");
        out += fmt::format("ndr_pull_{}(d, {}, static_cast<std::int64_t>({}));\n",
                           identifierOf(aggregate(el.levels[i + 1])->name), lv,
                           exprCode(l.switchIs, s.names));
        return;
      case Kind::kData:
        pullData(out, el, l, lv, s);
        return;
    }
  }

  // NDR alignment of levels[i..].
  unsigned alignment(const Element& el, std::size_t i, int depth = 0) {
    const Level& l = el.levels[i];
    switch (l.kind) {
      case Kind::kPointer:
        return 4;
      case Kind::kArray: {
        unsigned a = alignment(el, i + 1, depth);
        return l.conformant || l.varying ? std::max(a, 4u) : a;
      }
      case Kind::kSwitch:
        return i + 1 < el.levels.size() ? alignment(el, i + 1, depth) : 4;
      case Kind::kData:
        return dataAlignment(l, depth);
    }
    return 1;
  }

  // The fewest bytes one element of levels[i..] takes on the wire.
  unsigned minWire(const Element& el, std::size_t i, int depth = 0) {
    const Level& l = el.levels[i];
    if (l.kind == Kind::kPointer) return 4;
    if (l.kind == Kind::kArray) {
      // A fixed inner dimension: that many elements, when the size is a number.
      if (l.fixed && l.size && l.size->kind == ast::Expr::Kind::kNumber && l.size->number > 0 &&
          depth < 16) {
        return static_cast<unsigned>(
            std::min<std::uint64_t>(l.size->number * minWire(el, i + 1, depth + 1), 1u << 20));
      }
      return l.fixed ? 1 : 4;
    }
    if (l.kind != Kind::kData) return 1;
    if (const ir::Aggregate* a = aggregate(l); a && a->unionDef) return a->switchSize;
    if (const ir::Aggregate* a = aggregate(l); a && a->structDef && depth < 16) {
      unsigned sum = 0;
      for (const Element& m : a->members) sum += minWire(m, 0, depth + 1);
      return std::max(sum, 1u);
    }
    return std::max(l.resolved.size, 1u);
  }

  // A parameter's array whose max_count (and actual_count) the server checks against its
  // size_is (and length_is) after reading every [in] parameter: the first array of the chain,
  // when it is conformant and sized by an expression.
  static const Level* correlated(const Element& el) {
    for (const Level& l : el.levels) {
      if (l.kind == Kind::kPointer) continue;
      if (l.kind == Kind::kArray && l.conformant && l.size && !l.isString) return &l;
      return nullptr;
    }
    return nullptr;
  }

  // A multi-dimensional array's dimensions after the first are fixed (MIDL's rule: only the
  // outermost may be conformant or varying), so each element is a fixed array.
  static bool innerDimensionsFixed(const Element& el, std::size_t i) {
    for (std::size_t k = i + 1; k < el.levels.size() && el.levels[k].kind == Kind::kArray; ++k) {
      if (!el.levels[k].fixed || el.levels[k].isString) return false;
    }
    return true;
  }

  // 1 + the index of a parameter's array that lives in the caller's storage (the parameter is the
  // array, or a top-level [ref] pointer to it) and has a size expression; 0 for none.
  static std::size_t callerArray(const Element& p) {
    std::size_t i = p.levels.size() >= 2 && p.levels[0].kind == Kind::kPointer &&
                            p.levels[0].topLevel && p.levels[0].pointer == PointerKind::kRef
                        ? 1
                        : 0;
    if (i + 1 >= p.levels.size() || p.levels[i].kind != Kind::kArray || !sized(p.levels[i])) {
      return 0;
    }
    return i + 1;
  }

  // The conformant array member that ends a struct (its max_count is written before the struct),
  // or null.
  static const Element* conformantMember(const ir::Aggregate& a) {
    if (!a.structDef || a.members.empty()) return nullptr;
    const Element& last = a.members.back();
    const Level& l = last.levels.front();
    return l.kind == Kind::kArray && !l.fixed && l.conformant && sized(l) ? &last : nullptr;
  }
  // An array level whose size is an expression (go-msrpc writes size_is(*) for "unsized").
  static bool sized(const Level& l) { return l.size && l.size->kind != ast::Expr::Kind::kStar; }

  // The struct levels[i] holds, when it is a conformant one.
  const ir::Aggregate* conformantStruct(const Element& el, std::size_t i) const {
    if (i >= el.levels.size() || el.levels[i].kind != Kind::kData) return nullptr;
    const ir::Aggregate* a = aggregate(el.levels[i]);
    return a && conformantMember(*a) ? a : nullptr;
  }

  // levels[i] is a SWITCH over a non-encapsulated union this interface defines.
  bool switchedUnion(const Element& el, std::size_t i) const {
    if (i + 1 >= el.levels.size()) return false;
    const ir::Aggregate* a = aggregate(el.levels[i + 1]);
    return a && a->unionDef && !a->unionDef->encapsulated;
  }

  const ir::Aggregate* aggregate(const Level& l) const {
    auto it = aggregates_.find(l.aggregate);
    return it == aggregates_.end() ? nullptr : it->second;
  }

  std::vector<std::string>& helpers() { return helpers_; }

  void unsupported(std::string& out, const Site& s, std::string_view what) {
    out += fmt::format("#error \"warden idl: {}: {} is not generated yet\"\n", s.label, what);
  }

 private:
  unsigned dataAlignment(const Level& l, int depth) {
    if (const ir::Aggregate* a = aggregate(l)) {
      if (depth > 16) return 4;
      unsigned m = a->unionDef ? a->switchSize : 1;
      for (const Element& member : a->members) m = std::max(m, alignment(member, 0, depth + 1));
      return m;
    }
    if (l.resolved.contextHandle) return 4;
    return std::max(l.resolved.size, 1u);
  }

  static bool simpleData(const Level& l) {
    switch (l.resolved.kind) {
      case RKind::kInteger:
      case RKind::kChar:
      case RKind::kWchar:
      case RKind::kBoolean:
      case RKind::kFloat:
        return !l.resolved.contextHandle && l.resolved.pointers == 0;
      default:
        return false;
    }
  }

  static std::string uint(unsigned size) { return fmt::format("std::uint{}_t", size * 8); }

  // A deferred referent: a function taking the containing struct, whose body writes levels[i..].
  // (Reading deferred referents also allocates them: deferredFunctionPull.)
  std::string deferredPush(const Element& el, std::size_t i, const std::string& lv, const Site& s,
                           int depth) {
    std::string name = fmt::format("push_{}_{}", identifierOf(s.label), helpers_.size());
    helpers_.emplace_back();  // reserve the slot: nested helpers come after it
    std::size_t slot = helpers_.size() - 1;
    Site inner = s;
    inner.chain = true;
    std::string body;
    push(body, el, i, lv, inner, depth + 1);
    helpers_[slot] = fmt::format(
        "template <typename {1}>\n"
        "void {0}(warden::ndr::Encoder& e, const void* c) {{\n"
        "    const auto& v = *static_cast<const {1}*>(c);\n{2}}}\n",
        name, s.ctxType, indentLines(body));
    return name;
  }

  bool nextIsArray(const Element& el, std::size_t i) const {
    return i + 1 < el.levels.size() && el.levels[i + 1].kind == Kind::kArray;
  }

  void pushPointer(std::string& out, const Element& el, std::size_t i, const std::string& lv,
                   const Site& s, int depth) {
    const Level& l = el.levels[i];
    const bool inPlace = l.topLevel || s.chain;
    const std::string referent = nextIsArray(el, i) ? lv : "(*" + lv + ")";
    if (inPlace) {
      std::string body;
      Site inner = s;
      inner.chain = true;
      push(body, el, i + 1, referent, inner, depth + 1);
      switch (l.pointer) {
        case PointerKind::kRef:
          if (l.topLevel) {
            out += fmt::format(
                "if ({} == nullptr) throw warden::ndr::Fault(warden::ndr::kNullRefPointer, "
                "\"{}: a [ref] pointer is null\");\n",
                lv, s.label);
          } else {
            out += fmt::format("e.refId({}, \"{}\");\n", lv, s.label);
          }
          out += body;
          return;
        case PointerKind::kUnique:
          out += fmt::format("if (e.uniqueId({})) {{\n{}}}\n", lv, indentLines(body));
          return;
        case PointerKind::kFull:
          out += fmt::format("if (e.fullId({})) {{\n{}}}\n", lv, indentLines(body));
          return;
        case PointerKind::kIgnore:
          out += "e.put<std::uint32_t>(0);  // [ignore]\n";
          return;
      }
    }
    if (l.pointer == PointerKind::kIgnore) {
      out += "e.put<std::uint32_t>(0);  // [ignore]\n";
      return;
    }
    if (s.ctxType.empty() || lv.find("[i") != std::string::npos) {
      // An array's element (or a parameter's array of pointers): the deferred function gets the
      // pointer's own slot, typed where it is deferred.
      std::string fn = slotFunction(true, el, i, s, depth);
      if (fn.empty()) return unsupported(out, s, "a sized referent of an array's pointers");
      std::string task =
          fmt::format("e.defer(&{}<std::remove_cvref_t<decltype({})>>, &{});", fn, lv, lv);
      switch (l.pointer) {
        case PointerKind::kRef:
          out += fmt::format("e.refId({}, \"{}\");\n{}\n", lv, s.label, task);
          return;
        case PointerKind::kUnique:
          out += fmt::format("if (e.uniqueId({})) {}\n", lv, task);
          return;
        case PointerKind::kFull:
          out += fmt::format("if (e.fullId({})) {}\n", lv, task);
          return;
        case PointerKind::kIgnore:
          return;
      }
    }
    std::string fn = deferredPush(el, i + 1, referent, s, depth);
    switch (l.pointer) {
      case PointerKind::kRef:
        out += fmt::format("e.refId({}, \"{}\");\ne.defer(&{}<{}>, &v);\n", lv, s.label, fn,
                           s.ctxType);
        return;
      case PointerKind::kUnique:
        out += fmt::format("if (e.uniqueId({})) e.defer(&{}<{}>, &v);\n", lv, fn, s.ctxType);
        return;
      case PointerKind::kFull:
        out += fmt::format("if (e.fullId({})) e.defer(&{}<{}>, &v);\n", lv, fn, s.ctxType);
        return;
      case PointerKind::kIgnore:
        return;
    }
  }

  // Allocates the referent of pointer `lv` when it has none (the caller's node is reused).
  static std::string allocateReferent(const std::string& lv, const Site& s) {
    return fmt::format(
        "if ({0} == nullptr) {0} = static_cast<std::remove_reference_t<decltype({0})>>(d.allocate("
        "sizeof *{0}, \"{1}\"));\n",
        lv, s.label);
  }

  // A conformant struct's referent: its hoisted max_count first, then memory for that many
  // elements (or the caller's, when its own size expression holds as many), then the struct.
  // A full pointer's new node is handed to the pointer table once it has memory (`full`).
  static std::string pullConformantReferent(const std::string& lv, const Site& s,
                                            const std::string& type, bool full) {
    return fmt::format(
        "{{\n"
        "    const std::uint32_t max_count_ = d.conformance(\"{1}\");\n"
        "    if ({0} == nullptr) {{\n"
        "        {0} = static_cast<std::remove_reference_t<decltype({0})>>(d.allocate("
        "ndr_bytes_{2}({0}, max_count_), \"{1}\"));\n{3}"
        "    }} else if (max_count_ > ndr_capacity_{2}(*{0})) {{\n"
        "        d.invalid(warden::ndr::kInvalidBound, \"{1}\", \"the reply's \" + "
        "std::to_string(max_count_) + \" elements do not fit the caller's \" + "
        "std::to_string(ndr_capacity_{2}(*{0})));\n"
        "    }}\n"
        "    ndr_pull_{2}(d, *{0}, max_count_);\n"
        "}}\n",
        lv, s.label, type, full ? fmt::format("        d.fullPlace({});\n", lv) : "");
  }

  void pullPointer(std::string& out, const Element& el, std::size_t i, const std::string& lv,
                   const Site& s, int depth) {
    const Level& l = el.levels[i];
    const bool inPlace = l.topLevel || s.chain;
    const bool array = nextIsArray(el, i);
    const std::string referent = array ? lv : "(*" + lv + ")";
    if (l.pointer == PointerKind::kFull && array) {
      unsupported(out, s, "a full pointer to an array");
      return;
    }
    const bool conformant = conformantStruct(el, i + 1) != nullptr;
    const bool full = l.pointer == PointerKind::kFull;
    // A full pointer to a conformant structure learns its node's size with the referent.
    const char* fullId = full && conformant ? "fullIdSized" : "fullId";
    if (inPlace) {
      std::string body;
      Site inner = s;
      inner.chain = true;
      if (conformant) {
        body +=
            pullConformantReferent(lv, s, identifierOf(conformantStruct(el, i + 1)->name), full);
      } else {
        if (l.pointer != PointerKind::kFull && !array && !(l.topLevel && s.client)) {
          body += allocateReferent(lv, s);
        }
        pull(body, el, i + 1, referent, inner, depth + 1);
      }
      std::string code;
      switch (l.pointer) {
        case PointerKind::kRef:
          // A client's top-level [ref] was checked before the request went out.
          if (!l.topLevel) {
            code = fmt::format("d.refId(\"{}\");\n", s.label);
          }
          code += body;
          break;
        case PointerKind::kUnique:
          code =
              fmt::format("if (d.uniqueId({}, \"{}\")) {{\n{}}}\n", lv, s.label, indentLines(body));
          break;
        case PointerKind::kFull:
          code = fmt::format("if (d.{}({}, \"{}\")) {{\n{}}}\n", fullId, lv, s.label,
                             indentLines(body));
          break;
        case PointerKind::kIgnore:
          code = fmt::format("d.get<std::uint32_t>(\"{}\");  // [ignore]\n{} = nullptr;\n", s.label,
                             lv);
          break;
      }
      if (s.ctxType.empty() && (l.allNodes || (l.dontFree && !s.client))) {
        code = allocationMode(l, lv, code, s);
      }
      out += code;
      return;
    }
    if (l.pointer == PointerKind::kIgnore) {
      out +=
          fmt::format("d.get<std::uint32_t>(\"{}\");  // [ignore]\n{} = nullptr;\n", s.label, lv);
      return;
    }
    if (s.ctxType.empty() || lv.find("[i") != std::string::npos) {
      std::string fn = slotFunction(false, el, i, s, depth);
      if (fn.empty()) return unsupported(out, s, "a sized referent of an array's pointers");
      std::string task =
          fmt::format("d.defer(&{}<std::remove_reference_t<decltype({})>>, &{});", fn, lv, lv);
      switch (l.pointer) {
        case PointerKind::kRef:
          out += fmt::format("d.refId(\"{}\");\n{}\n", s.label, task);
          return;
        case PointerKind::kUnique:
          out += fmt::format("if (d.uniqueId({}, \"{}\")) {}\n", lv, s.label, task);
          return;
        case PointerKind::kFull:
          out += fmt::format("if (d.{}({}, \"{}\")) {}\n", fullId, lv, s.label, task);
          return;
        case PointerKind::kIgnore:
          return;
      }
    }
    // The deferred function allocates (a [ref] or [unique] referent; arrays size themselves).
    std::string fn = deferredFunctionPull(el, i, lv, referent, array, s, depth);
    switch (l.pointer) {
      case PointerKind::kRef:
        out += fmt::format("d.refId(\"{}\");\nd.defer(&{}<{}>, &v);\n", s.label, fn, s.ctxType);
        return;
      case PointerKind::kUnique:
        out += fmt::format("if (d.uniqueId({}, \"{}\")) d.defer(&{}<{}>, &v);\n", lv, s.label, fn,
                           s.ctxType);
        return;
      case PointerKind::kFull:
        out += fmt::format("if (d.{}({}, \"{}\")) d.defer(&{}<{}>, &v);\n", fullId, lv, s.label, fn,
                           s.ctxType);
        return;
      case PointerKind::kIgnore:
        return;
    }
  }

  // A deferred referent reached through a pointer slot (an array's element, a parameter's array of
  // pointers): a function template over the slot's type, whose body is levels[i+1..] of
  // `slot`. Empty when the referent needs a size expression (its names are not in reach there).
  std::string slotFunction(bool isPush, const Element& el, std::size_t i, const Site& s,
                           int depth) {
    for (std::size_t k = i + 1; k < el.levels.size(); ++k) {
      const Level& l = el.levels[k];
      if (l.kind == Kind::kArray && !l.isString && (l.size || l.length || l.first)) return "";
      if (l.kind == Kind::kSwitch) return "";
    }
    if (el.levels[i].pointer == PointerKind::kFull && nextIsArray(el, i)) return "";
    std::string name =
        fmt::format("{}_{}_{}", isPush ? "push" : "pull", identifierOf(s.label), helpers_.size());
    helpers_.emplace_back();
    std::size_t at = helpers_.size() - 1;
    Site inner = s;
    inner.chain = true;
    inner.ctxType.clear();
    inner.names = Names{};
    const bool array = nextIsArray(el, i);
    const std::string referent = array ? "slot" : "(*slot)";
    std::string body;
    if (isPush) {
      push(body, el, i + 1, referent, inner, depth + 1);
      helpers_[at] = fmt::format(
          "template <typename Slot>\n"
          "void {}(warden::ndr::Encoder& e, const void* c) {{\n"
          "    const Slot& slot = *static_cast<const Slot*>(c);\n{}}}\n",
          name, indentLines(body));
      return name;
    }
    if (conformantStruct(el, i + 1)) {
      body += pullConformantReferent("slot", s, identifierOf(conformantStruct(el, i + 1)->name),
                                     el.levels[i].pointer == PointerKind::kFull);
    } else {
      if (el.levels[i].pointer != PointerKind::kFull && !array) body += allocateReferent("slot", s);
      pull(body, el, i + 1, referent, inner, depth + 1);
    }
    helpers_[at] = fmt::format(
        "template <typename Slot>\n"
        "void {}(warden::ndr::Decoder& d, void* c) {{\n"
        "    Slot& slot = *static_cast<Slot*>(c);\n{}}}\n",
        name, indentLines(body));
    return name;
  }

  std::string deferredFunctionPull(const Element& el, std::size_t i, const std::string& lv,
                                   const std::string& referent, bool array, const Site& s,
                                   int depth) {
    std::string name = fmt::format("pull_{}_{}", identifierOf(s.label), helpers_.size());
    helpers_.emplace_back();
    std::size_t slot = helpers_.size() - 1;
    Site inner = s;
    inner.chain = true;
    std::string body;
    if (conformantStruct(el, i + 1)) {
      body += pullConformantReferent(lv, s, identifierOf(conformantStruct(el, i + 1)->name),
                                     el.levels[i].pointer == PointerKind::kFull);
    } else {
      if (el.levels[i].pointer != PointerKind::kFull && !array) body += allocateReferent(lv, s);
      if (array && !el.levels[i + 1].isString) {
        // The caller's array may be smaller than the reply's: new memory, the old reported.
        body += fmt::format("d.orphan({0});\n{0} = nullptr;\n", lv);
      }
      pull(body, el, i + 1, referent, inner, depth + 1);
    }
    helpers_[slot] = fmt::format(
        "template <typename {1}>\n"
        "void {0}(warden::ndr::Decoder& d, void* c) {{\n"
        "    auto& v = *static_cast<{1}*>(c);\n{2}}}\n",
        name, s.ctxType, indentLines(body));
    return name;
  }

  // ACF allocate(all_nodes) and/or dont_free on a parameter's pointer type: the graph is sized in
  // a first pass and read again into one block; dont_free takes memory the manager keeps.
  std::string allocationMode(const Level& l, const std::string& lv, const std::string& code,
                             const Site& s) {
    std::string out = "{\n";
    std::string owner = s.client     ? "d.allocator()"
                        : l.dontFree ? "call_.userAllocator()"
                                     : "d.allocator()";
    if (!l.allNodes) {
      out += indentLines(fmt::format(
          "warden::ndr::Allocator* outer_ = d.swapAllocator(&call_.userAllocator());  // "
          "dont_free\n{}d.drain();\nd.swapAllocator(outer_);\n",
          code));
      return out + "}\n";
    }
    std::string text = fmt::format(
        "// allocate(all_nodes{}): size the graph, then read it into one block.\n"
        "warden::ndr::Allocator& owner_ = {};\n"
        "const std::size_t start_ = d.offset();\n"
        "d.orphan({});\n"
        "{} = nullptr;\n"
        "std::size_t total_ = 0;\n"
        "{{\n"
        "    warden::ndr::MeasuringAllocator sizing_;\n"
        "    warden::ndr::Allocator* outer_ = d.swapAllocator(&sizing_);\n"
        "{}"
        "    d.drain();\n"
        "    d.swapAllocator(outer_);\n"
        "    total_ = sizing_.total();\n"
        "    {} = nullptr;\n"
        "}}\n"
        "if (total_ != 0) {{\n"
        "    d.rewind(start_);\n"
        "    void* block_ = owner_.allocate(total_);\n"
        "    if (block_ == nullptr) d.invalid(warden::ndr::kOutOfMemory, \"{}\", \"all_nodes "
        "block refused\");\n"
        "{}"
        "    warden::ndr::BumpAllocator bump_(block_, total_);\n"
        "    warden::ndr::Allocator* outer_ = d.swapAllocator(&bump_);\n"
        "{}"
        "    d.drain();\n"
        "    d.swapAllocator(outer_);\n"
        "}} else {{\n"
        "    d.rewind(start_);\n"
        "{}"
        "}}\n",
        l.dontFree ? ", dont_free" : "", owner, lv, lv, indentLines(code), lv, s.label,
        s.client ? "" : "    call_.stubBlock(block_, total_);\n", indentLines(code),
        indentLines(code));
    return out + indentLines(text) + "}\n";
  }

  // When levels[i+1..] are fixed dimensions over plain values, the factor their rows multiply
  // the count by (" * 3 * 2"): the whole array is one run of values. Empty otherwise.
  std::string plainRows(const Element& el, std::size_t i, const Names& names) const {
    std::string factor;
    std::size_t k = i + 1;
    for (; k < el.levels.size() && el.levels[k].kind == Kind::kArray; ++k) {
      const Level& l = el.levels[k];
      if (!l.fixed || l.isString || !l.size) return "";
      factor += fmt::format(" * static_cast<std::size_t>({})", exprCode(l.size, names));
    }
    if (factor.empty() || k >= el.levels.size() || !simpleData(el.levels[k])) return "";
    return factor;
  }

  // Array element loops and the element code for levels[i+1..].
  void pushElements(std::string& out, const Element& el, std::size_t i, const std::string& lv,
                    const std::string& count, const Site& s, int depth) {
    const Level& next = el.levels[i + 1];
    if (next.kind == Kind::kData && simpleData(next)) {
      out += fmt::format("e.putArray({}, {});\n", lv, count);
      return;
    }
    if (std::string rows = plainRows(el, i, s.names); !rows.empty()) {
      out += fmt::format("e.putArray(warden::ndr::flatten({}), {}{});\n", lv, count, rows);
      return;
    }
    std::string var = fmt::format("i{}_", depth);
    std::string body;
    Site element = s;
    element.chain = false;  // pointers in an array are embedded: referents after the array
    push(body, el, i + 1, fmt::format("{}[{}]", lv, var), element, depth + 1);
    out += fmt::format("for (std::uint32_t {0} = 0; {0} < {1}; ++{0}) {{\n{2}}}\n", var, count,
                       indentLines(body));
  }

  void pullElements(std::string& out, const Element& el, std::size_t i, const std::string& lv,
                    const std::string& count, const Site& s, int depth) {
    const Level& next = el.levels[i + 1];
    if (next.kind == Kind::kData && simpleData(next)) {
      out += fmt::format("d.getArray({}, {}, \"{}\");\n", lv, count, s.label);
      return;
    }
    if (std::string rows = plainRows(el, i, s.names); !rows.empty()) {
      out += fmt::format("d.getArray(warden::ndr::flatten({}), {}{}, \"{}\");\n", lv, count, rows,
                         s.label);
      return;
    }
    std::string var = fmt::format("i{}_", depth);
    std::string body;
    Site element = s;
    element.chain = false;
    pull(body, el, i + 1, fmt::format("{}[{}]", lv, var), element, depth + 1);
    out += fmt::format("for (std::uint32_t {0} = 0; {0} < {1}; ++{0}) {{\n{2}}}\n", var, count,
                       indentLines(body));
  }

  bool stringData(const Element& el, std::size_t i) const {
    const Level& next = el.levels[i + 1];
    return next.kind == Kind::kData &&
           (next.resolved.kind == RKind::kChar || next.resolved.kind == RKind::kWchar ||
            next.resolved.kind == RKind::kInteger) &&
           (next.resolved.size == 1 || next.resolved.size == 2);
  }

  void pushArray(std::string& out, const Element& el, std::size_t i, const std::string& lv,
                 const Site& s, int depth) {
    const Level& l = el.levels[i];
    if (!l.isString && !sized(l)) return unsupported(out, s, "an array without a size");
    if (!innerDimensionsFixed(el, i)) {
      unsupported(out, s, "a multi-dimensional array with a conformant inner dimension");
      return;
    }
    if (l.isString) {
      if (!stringData(el, i)) {
        unsupported(out, s, "a [string] of this element type");
      } else if (l.fixed) {
        out += fmt::format("warden::ndr::pushFixedString(e, {}, {});\n", lv,
                           exprCode(l.size, s.names));
      } else {
        out += fmt::format("warden::ndr::pushString(e, {});\n", lv);
      }
      return;
    }
    if (!l.fixed && i == 0 && !s.ctxType.empty() && !s.hoisted) {
      unsupported(out, s, "a conformant array that does not end its structure");
      return;
    }
    std::string n = fmt::format("n{}_", depth);
    std::string len = fmt::format("l{}_", depth);
    out += "{\n";
    std::string body;
    body += fmt::format("const auto {} = static_cast<std::uint32_t>({});\n", n,
                        exprCode(l.size, s.names));
    // A struct's final conformant array: its max_count went out before the struct.
    if (l.conformant && !s.hoisted) body += fmt::format("e.put<std::uint32_t>({});\n", n);
    std::string count = n;
    if (l.varying) {
      body += fmt::format("const auto {} = static_cast<std::uint32_t>({});\n", len,
                          l.length ? exprCode(l.length, s.names) : n);
      body += fmt::format(
          "if ({0} > {1}) throw warden::ndr::Fault(warden::ndr::kInvalidBound, \"{2}: length_is "
          "\" + std::to_string({0}) + \" is past size \" + std::to_string({1}));\n",
          len, n, s.label);
      body += fmt::format("e.put<std::uint32_t>(0);\ne.put<std::uint32_t>({});\n", len);
      count = len;
    }
    if (l.conformant) body += fmt::format("e.align({});\n", alignment(el, i + 1));
    pushElements(body, el, i, lv, count, s, depth);
    out += indentLines(body) + "}\n";
  }

  void pullArray(std::string& out, const Element& el, std::size_t i, const std::string& lv,
                 const Site& s, int depth) {
    const Level& l = el.levels[i];
    if (!l.isString && !sized(l)) return unsupported(out, s, "an array without a size");
    if (!innerDimensionsFixed(el, i)) {
      unsupported(out, s, "a multi-dimensional array with a conformant inner dimension");
      return;
    }
    if (l.isString) {
      if (!stringData(el, i)) {
        unsupported(out, s, "a [string] of this element type");
      } else if (l.fixed) {
        out += fmt::format("warden::ndr::pullFixedString(d, {}, {}, \"{}\");\n", lv,
                           exprCode(l.size, s.names), s.label);
      } else if (s.client && s.ctxType.empty() &&
                 ((i == 1 && el.levels[0].topLevel && el.levels[0].pointer == PointerKind::kRef) ||
                  i + 1 == callerArray(el))) {
        // The caller's own buffer: its size_is says how much it holds.
        if (sized(l)) {
          out += fmt::format("warden::ndr::pullString(d, {}, cap_{}, \"{}\");\n", lv, el.name,
                             s.label);
        } else if (s.outOnly) {
          unsupported(out, s, "an [out] string in the caller's storage without size_is");
        } else {
          out += fmt::format("warden::ndr::pullString(d, {}, \"{}\");\n", lv, s.label);
        }
      } else {
        out += fmt::format("warden::ndr::pullString(d, {}, \"{}\");\n", lv, s.label);
      }
      return;
    }
    if (!l.fixed && i == 0 && !s.ctxType.empty() && !s.hoisted) {
      unsupported(out, s, "a conformant array that does not end its structure");
      return;
    }
    const unsigned wire = minWire(el, i + 1);
    std::string n = fmt::format("n{}_", depth);
    std::string len = fmt::format("l{}_", depth);
    std::string body;
    if (s.hoisted) {
      // The struct's memory was sized from the hoisted max_count; its fields are read, so the
      // size expression must agree with it.
      body += fmt::format("const std::uint32_t {} = max_count_;\n", n);
      body += fmt::format("d.expectEqual({}, static_cast<std::uint64_t>({}), \"{}\");\n", n,
                          exprCode(l.size, s.names), s.label);
      std::string count = n;
      if (l.varying) {
        body += fmt::format("const std::uint32_t {} = d.variance({}, {}, \"{}\");\n", len, n, wire,
                            s.label);
        if (l.length) {
          body += fmt::format("d.expectEqual({}, static_cast<std::uint64_t>({}), \"{}\");\n", len,
                              exprCode(l.length, s.names), s.label);
        }
        count = len;
      } else {
        body += fmt::format("d.needElements({}, {}, \"{}\");\n", n, wire, s.label);
      }
      body += fmt::format("d.align({});\n", alignment(el, i + 1));
      pullElements(body, el, i, lv, count, s, depth);
      out += "{\n" + indentLines(body) + "}\n";
      return;
    }
    if (l.conformant) {
      body += fmt::format("const std::uint32_t {} = d.conformance(\"{}\");\n", n, s.label);
    } else {
      body += fmt::format("const auto {} = static_cast<std::uint32_t>({});\n", n,
                          exprCode(l.size, s.names));
    }
    std::string count = n;
    if (l.varying) {
      body += fmt::format("const std::uint32_t {} = d.variance({}, {}, \"{}\");\n", len, n, wire,
                          s.label);
      count = len;
    } else {
      body += fmt::format("d.needElements({}, {}, \"{}\");\n", n, wire, s.label);
    }
    if (l.conformant) {
      if (!s.ctxType.empty() && l.size) {
        // Inside a struct the size expression's fields are already read: they must agree.
        body += fmt::format("d.expectEqual({}, static_cast<std::uint64_t>({}), \"{}\");\n", n,
                            exprCode(l.size, s.names), s.label);
        if (l.varying && l.length) {
          body += fmt::format("d.expectEqual({}, static_cast<std::uint64_t>({}), \"{}\");\n", len,
                              exprCode(l.length, s.names), s.label);
        }
      }
      if (s.ctxType.empty() && !s.client && correlated(el) == &l) {
        // A parameter's counts are checked against its expressions once every [in] is read.
        body += fmt::format("conf_{} = {};\n", el.name, n);
        if (l.varying && l.length) body += fmt::format("vary_{} = {};\n", el.name, len);
      }
      if (s.client && s.ctxType.empty() && i + 1 == callerArray(el)) {
        // The caller's storage holds what its [in] size expression says: never write past it.
        body += fmt::format(
            "if ({0} > cap_{1}) d.invalid(warden::ndr::kInvalidBound, \"{2}\", \"the reply's \" + "
            "std::to_string({0}) + \" elements do not fit the caller's \" + "
            "std::to_string(cap_{1}));\n",
            n, el.name, s.label);
        if (s.outOnly && el.levels[i + 1].kind == Kind::kPointer) {
          // [out]-only pointers in the caller's array are not the caller's nodes yet.
          body +=
              fmt::format("std::memset(static_cast<void*>({}), 0, sizeof *{} * {});\n", lv, lv, n);
        }
        body += fmt::format("d.align({});\n", alignment(el, i + 1));
        pullElements(body, el, i, lv, count, s, depth);
        out += "{\n" + indentLines(body) + "}\n";
        return;
      }
      const Level& next = el.levels[i + 1];
      const bool whole = next.kind == Kind::kData && simpleData(next);
      std::string copy = fmt::format(
          "if ({0} == nullptr) {0} = static_cast<std::remove_reference_t<decltype({0})>>("
          "d.allocate(sizeof *{0} * {1}, \"{2}\"{3}));\n",
          lv, n, s.label, whole && !l.varying ? ", false" : "");
      copy += fmt::format("d.align({});\n", alignment(el, i + 1));
      pullElements(copy, el, i, lv, count, s, depth);
      const bool forced = el.attributes && findAttribute(*el.attributes, "force_allocate");
      if (whole && !s.client && !forced) {
        // The server reads a whole array of plain values in place when it can.
        body += fmt::format(
            "if (auto* in_place_ = {0} == nullptr ? d.alias<std::remove_pointer_t<std::remove_"
            "reference_t<decltype({0})>>>({1}, {2}, \"{3}\") : nullptr) {{\n"
            "    {0} = in_place_;\n"
            "}} else {{\n{4}}}\n",
            lv, n, count, s.label, indentLines(copy));
      } else {
        body += copy;
      }
      out += "{\n" + indentLines(body) + "}\n";
      return;
    }
    pullElements(body, el, i, lv, count, s, depth);
    out += "{\n" + indentLines(body) + "}\n";
  }

  // A context handle parameter: the client's ClientContext, or the server's table entry kept in
  // ctx_<name> between the request and the reply.
  static std::string rundownOf(const Level& l) {
    if (l.rundown.empty()) return "nullptr";
    return fmt::format("+[](void* p) {{ {}(static_cast<{}>(p)); }}", l.rundown, l.type);
  }

  void pushData(std::string& out, const Element& el, const Level& l, const std::string& lv,
                const Site& s) {
    const Resolved& r = l.resolved;
    if (r.contextHandle) {
      if (!s.ctxType.empty() || lv.find("[i") != std::string::npos) {
        return unsupported(out, s, "a context handle inside a structure or array");
      }
      if (s.server) {
        out += fmt::format("call_.pushContext(ctx_{}, {}, {});\n", el.name, lv, rundownOf(l));
      } else {
        out += fmt::format("warden::stub::pushClientContext(e, {}, {}, \"{}\");\n", lv,
                           el.out ? "true" : "false", s.label);
      }
      return;
    }
    switch (r.kind) {
      case RKind::kVoid:
      case RKind::kHandle:
        return;
      case RKind::kStruct:
        if (aggregate(l) == nullptr) return unsupported(out, s, "a struct defined elsewhere");
        out += fmt::format("ndr_push_{}(e, {});\n", identifierOf(aggregate(l)->name), lv);
        return;
      case RKind::kUnion:
        if (const ir::Aggregate* a = aggregate(l); a && a->unionDef->encapsulated) {
          out += fmt::format("ndr_push_{}(e, {});\n", identifierOf(a->name), lv);
          return;
        }
        return unsupported(out, s, "a union without [switch_is]");
      case RKind::kEnum:
        if (r.size == 4) {
          out += fmt::format("e.put<std::uint32_t>(static_cast<std::uint32_t>({}));\n", lv);
        } else {
          out += fmt::format("e.putEnum16(static_cast<std::int64_t>({}), \"{}\");\n", lv, s.label);
        }
        return;
      case RKind::kFloat:
        out += fmt::format("e.put<{}>({});\n", r.size == 4 ? "float" : "double", lv);
        return;
      case RKind::kInteger:
      case RKind::kChar:
      case RKind::kWchar:
      case RKind::kBoolean:
        out += fmt::format("e.put<{0}>(static_cast<{0}>({1}));\n", uint(r.size), lv);
        return;
      default:
        return unsupported(out, s, fmt::format("type '{}'", l.type));
    }
  }

  void pullData(std::string& out, const Element& el, const Level& l, const std::string& lv,
                const Site& s) {
    const Resolved& r = l.resolved;
    if (r.contextHandle) {
      if (!s.ctxType.empty() || lv.find("[i") != std::string::npos) {
        return unsupported(out, s, "a context handle inside a structure or array");
      }
      if (s.client) {
        out += fmt::format("warden::stub::pullClientContext(d, {}, call_.binding(), \"{}\");\n", lv,
                           s.label);
      } else {
        out += fmt::format("call_.pullContext(ctx_{}, {}, {}, \"{}\");\n", el.name, lv,
                           el.out ? "true" : "false", s.label);
      }
      return;
    }
    std::string cast = fmt::format("static_cast<std::remove_cvref_t<decltype({})>>", lv);
    switch (r.kind) {
      case RKind::kVoid:
      case RKind::kHandle:
        return;
      case RKind::kStruct:
        if (aggregate(l) == nullptr) return unsupported(out, s, "a struct defined elsewhere");
        if (conformantMember(*aggregate(l))) {
          return unsupported(out, s, "a conformant structure not behind a pointer");
        }
        out += fmt::format("ndr_pull_{}(d, {});\n", identifierOf(aggregate(l)->name), lv);
        return;
      case RKind::kUnion:
        if (const ir::Aggregate* a = aggregate(l); a && a->unionDef->encapsulated) {
          out += fmt::format("ndr_pull_{}(d, {});\n", identifierOf(a->name), lv);
          return;
        }
        return unsupported(out, s, "a union without [switch_is]");
      case RKind::kEnum:
        if (r.size == 4) {
          out += fmt::format("{} = {}(d.get<std::uint32_t>(\"{}\"));\n", lv, cast, s.label);
        } else {
          out += fmt::format("{} = {}(d.getEnum16(\"{}\"));\n", lv, cast, s.label);
        }
        return;
      case RKind::kFloat:
        out +=
            fmt::format("{} = d.get<{}>(\"{}\");\n", lv, r.size == 4 ? "float" : "double", s.label);
        return;
      case RKind::kInteger:
      case RKind::kChar:
      case RKind::kWchar:
      case RKind::kBoolean:
        out += fmt::format("{} = {}(d.get<{}>(\"{}\"));\n", lv, cast, uint(r.size), s.label);
        if (const ast::Attribute* range =
                el.attributes ? findAttribute(*el.attributes, "range") : nullptr;
            range && range->args.size() == 2 && &l == &el.levels.front()) {
          out += fmt::format("d.checkRange(static_cast<std::int64_t>({}), {}, {}, \"{}\");\n", lv,
                             exprCode(range->args[0], s.names), exprCode(range->args[1], s.names),
                             s.label);
        }
        return;
      default:
        return unsupported(out, s, fmt::format("type '{}'", l.type));
    }
  }

  std::map<std::string, const ir::Aggregate*> aggregates_;
  std::vector<std::string> helpers_;
};

std::string shortName(const std::string& aggregate) {
  std::size_t space = aggregate.find(' ');
  return space == std::string::npos ? aggregate : aggregate.substr(space + 1);
}

void flushHelpers(CodeWriter& w, Generator& g) {
  for (const std::string& h : g.helpers()) {
    w.raw(h);
  }
  g.helpers().clear();
}

Names paramNames(const ir::Function& f) {
  Names n;
  for (const Element& p : f.params) n.fields.insert(p.name);
  return n;  // parameters are spelled as they are
}

bool isHandle(const Element& p) {
  return p.levels.size() == 1 && p.levels[0].resolved.kind == RKind::kHandle;
}

}  // namespace

namespace {

// The body of a union's functions: the discriminant, then the arm it selects. `which` is the
// discriminant's C++ expression; arms are spelled `armPrefix + name`.
void unionBodies(Generator& g, const ir::Aggregate& a, const std::string& which,
                 const std::string& armPrefix, std::string& pushBody, std::string& pullBody) {
  const std::string type = fmt::format("std::uint{}_t", a.switchSize * 8);
  Site s;
  s.ctxType = "T";
  s.names.prefix = "v." + armPrefix;
  for (const Element& m : a.members) s.names.fields.insert(m.name);
  std::string pushArms, pullArms;
  bool hasDefault = false;
  std::size_t member = 0;
  for (const ast::UnionArm& arm : a.unionDef->arms) {
    std::string labels;
    std::vector<const ast::Expr*> cases = arm.cases;
    bool isDefault = arm.isDefault;
    for (const ast::Attribute& attr :
         arm.field.attributes) {  // non-encapsulated: [case], [default]
      if (attr.name == "case") cases.insert(cases.end(), attr.args.begin(), attr.args.end());
      isDefault |= attr.name == "default";
    }
    for (const ast::Expr* c : cases) {
      labels += fmt::format("case static_cast<{}>({}):\n", type, exprCode(c, Names{}));
    }
    if (isDefault) {
      labels += "default:\n";
      hasDefault = true;
    }
    std::string pushArm, pullArm;
    if (!arm.empty && member < a.members.size()) {
      const Element& m = a.members[member++];
      Site ms = s;
      ms.label = fmt::format("{}.{}", shortName(a.name), m.name);
      std::string lv = fmt::format("v.{}{}", armPrefix, m.name);
      g.push(pushArm, m, 0, lv, ms, 0);
      g.pull(pullArm, m, 0, lv, ms, 0);
    }
    pushArms += labels + indentLines(pushArm + "break;\n");
    pullArms += labels + indentLines(pullArm + "break;\n");
  }
  if (!hasDefault) {
    pushArms += fmt::format(
        "default:\n    throw warden::ndr::Fault(warden::ndr::kInvalidTag, \"{}: no arm for \" + "
        "std::to_string(which_));\n",
        shortName(a.name));
    pullArms += fmt::format(
        "default:\n    d.invalid(warden::ndr::kInvalidTag, \"{}\", \"no arm for \" + "
        "std::to_string(which_));\n",
        shortName(a.name));
  }
  pushBody += fmt::format("const auto which_ = static_cast<{}>({});\n", type, which);
  pushBody += fmt::format("e.put<{}>(which_);\n", type);
  pushBody += fmt::format("switch (which_) {{\n{}}}\n", pushArms);
  pullBody +=
      fmt::format("const auto which_ = d.get<{}>(\"{}.(switch)\");\n", type, shortName(a.name));
  pullBody += fmt::format("switch (which_) {{\n{}}}\n", pullArms);
}

}  // namespace

void emitNdrTypes(CodeWriter& w, const ir::Interface& in, std::set<std::string>& emitted) {
  Generator g(in);
  // The types the operations reach (through members and arms, transitively), each once per file:
  // imported files declare many a stub never marshals, some of them not marshallable at all.
  std::set<std::string> reachable;
  std::vector<std::string> work;
  auto reach = [&](const Element& e) {
    for (const Level& l : e.levels) {
      if (l.kind == Kind::kData && !l.aggregate.empty() && reachable.insert(l.aggregate).second) {
        work.push_back(l.aggregate);
      }
    }
  };
  for (const ir::Function& f : in.functions) {
    for (const Element& p : f.params) reach(p);
    reach(f.result);
  }
  while (!work.empty()) {
    std::string name = work.back();
    work.pop_back();
    for (const ir::Aggregate& a : in.types) {
      if (a.name != name) continue;
      for (const Element& m : a.members) reach(m);
    }
  }
  std::vector<const ir::Aggregate*> types;
  for (const ir::Aggregate& a : in.types) {
    if (reachable.count(a.name) && emitted.insert(a.name).second) types.push_back(&a);
  }
  if (types.empty()) return;
  auto switched = [](const ir::Aggregate* a) { return a->unionDef && !a->unionDef->encapsulated; };
  // Function templates named after each type, so a type C++ nests in another (a union declared
  // inside a struct member) is reached through deduction rather than spelled.
  auto extra = [&](const ir::Aggregate* a, bool isPull) -> std::string {
    if (switched(a)) return isPull ? ", std::int64_t expected" : ", std::int64_t which";
    if (isPull && Generator::conformantMember(*a)) return ", std::uint32_t max_count_";
    return "";
  };
  w.line("");
  for (const ir::Aggregate* a : types) {
    const std::string id = identifierOf(a->name);
    w.line("template <typename T>");
    w.line("void ndr_push_{}(warden::ndr::Encoder& e, const T& v{});", id, extra(a, false));
    w.line("template <typename T>");
    w.line("void ndr_pull_{}(warden::ndr::Decoder& d, T& v{});", id, extra(a, true));
    if (const Element* m = Generator::conformantMember(*a)) {
      Names names;
      names.prefix = "v.";
      for (const Element& f : a->members) names.fields.insert(f.name);
      // Bytes for a struct whose final array holds n elements, and how many the caller's holds.
      w.line("template <typename T>");
      w.line("std::size_t ndr_bytes_{}(const T*, std::uint32_t n) {{", id);
      w.line(
          "    return std::max(sizeof(T), offsetof(T, {0}) + sizeof(std::declval<T&>().{0}[0]) * "
          "n);",
          m->name);
      w.line("}}");
      w.line("template <typename T>");
      w.line("std::uint64_t ndr_capacity_{}(const T& v) {{", id);
      w.line("    return static_cast<std::uint64_t>({});", exprCode(m->levels.front().size, names));
      w.line("}}");
    }
  }
  for (const ir::Aggregate* a : types) {
    Site s;
    s.ctxType = "T";
    s.names.prefix = "v.";
    for (const Element& m : a->members) s.names.fields.insert(m.name);
    unsigned align = a->unionDef ? a->switchSize : 1;
    for (const Element& m : a->members) align = std::max(align, g.alignment(m, 0));
    std::string pushBody, pullBody;
    std::string pushHead = fmt::format("e.align({});\n", align);
    std::string pullHead = fmt::format("d.align({});\n", align);
    const Element* hoisted = Generator::conformantMember(*a);
    if (hoisted) {
      // A conformant structure: the final array's max_count comes before the struct itself.
      pushHead = fmt::format("e.put<std::uint32_t>(static_cast<std::uint32_t>({}));\n{}",
                             exprCode(hoisted->levels.front().size, s.names), pushHead);
    }
    if (a->structDef) {
      for (const Element& m : a->members) {
        Site ms = s;
        ms.hoisted = &m == hoisted;
        ms.label = fmt::format("{}.{}", shortName(a->name), m.name);
        // An unnamed member (C11's anonymous union) is reached through the struct itself.
        std::string lv = m.name.empty() ? "v" : fmt::format("v.{}", m.name);
        g.push(pushBody, m, 0, lv, ms, 0);
        g.pull(pullBody, m, 0, lv, ms, 0);
      }
    } else if (switched(a)) {
      // Non-encapsulated: the discriminant the caller's [switch_is] gives, then the arm, each at
      // its own alignment; the reader checks the wire's discriminant against the expression.
      pushHead = fmt::format("e.align({});\n", a->switchSize);
      pullHead = fmt::format("d.align({});\n", a->switchSize);
      unionBodies(g, *a, "which", "", pushBody, pullBody);
      std::string check = fmt::format(
          "if (which_ != static_cast<std::uint{}_t>(expected)) d.invalid("
          "warden::ndr::kBadStubData, \"{}.(switch)\", \"discriminant \" + std::to_string(which_) "
          "+ "
          "\" where [switch_is] gives \" + std::to_string(expected));\n",
          a->switchSize * 8, shortName(a->name));
      pullBody.insert(pullBody.find('\n') + 1, check);
    } else {
      // Encapsulated: the discriminant it holds, then the arm at the arm's own alignment, as
      // Microsoft's engine marshals it (the widest arm's alignment is [ms_union]'s, which MIDL
      // ignores for encapsulated unions).
      pushHead = fmt::format("e.align({});\n", a->switchSize);
      pullHead = fmt::format("d.align({});\n", a->switchSize);
      std::string unionName(a->unionDef->unionName.empty() ? "tagged_union"
                                                           : a->unionDef->unionName);
      std::string discriminant = fmt::format("v.{}", a->unionDef->switchName);
      unionBodies(g, *a, discriminant, unionName + ".", pushBody, pullBody);
      pullBody.insert(pullBody.find("switch ("),
                      fmt::format("{0} = static_cast<decltype({0})>(which_);\n", discriminant));
    }
    w.line("");
    flushHelpers(w, g);
    w.line("template <typename T>");
    w.line("void ndr_push_{}(warden::ndr::Encoder& e, const T& v{}) {{", identifierOf(a->name),
           extra(a, false));
    w.indent();
    w.raw(pushHead + pushBody.substr(0, pushBody.size() - (pushBody.empty() ? 0 : 1)));
    w.dedent();
    w.line("}}");
    w.line("");
    w.line("template <typename T>");
    w.line("void ndr_pull_{}(warden::ndr::Decoder& d, T& v{}) {{", identifierOf(a->name),
           extra(a, true));
    w.indent();
    w.raw(pullHead + pullBody.substr(0, pullBody.size() - (pullBody.empty() ? 0 : 1)));
    w.dedent();
    w.line("}}");
  }
}

void emitClientOperation(CodeWriter& w, const ir::Interface& in, const ir::Function& f,
                         const ast::Operation& op, const ClientBinding& binding,
                         const std::string& ifspec) {
  Generator g(in);
  const bool hasResult = f.result.levels.front().resolved.kind != RKind::kVoid ||
                         f.result.levels.front().kind != Kind::kData;
  // [comm_status] / [fault_status]: where a failed call's status goes instead of an exception,
  // the return value or an [out] error_status_t* parameter (empty: it raises).
  auto statusTarget = [&](std::string_view attribute) -> std::string {
    if (findAttribute(op.attributes, attribute) != nullptr) return "return fault_.status();";
    for (const ast::Param& p : op.params) {
      if (findAttribute(p.attributes, attribute) == nullptr) continue;
      return fmt::format("if ({0} != nullptr) *{0} = fault_.status();\nreturn{1};",
                         p.declarator.name,
                         hasResult ? fmt::format(" {}{{}}", returnType(op)) : "");
    }
    return "";
  };
  const std::string commTarget = statusTarget("comm_status");
  const std::string faultTarget = statusTarget("fault_status");
  std::string body;
  body += binding.setup;
  body +=
      fmt::format("warden::stub::ClientCall call_({}, {}, {});\n", binding.handle, ifspec, f.opnum);
  // What the caller's [out] and [in, out] arrays can hold, from their size expressions now.
  for (const Element& p : f.params) {
    const std::size_t at = Generator::callerArray(p);
    if (!p.out || at == 0 || !p.levels[at - 1].conformant) continue;
    body += fmt::format("const std::uint64_t cap_{} = static_cast<std::uint64_t>({});\n", p.name,
                        exprCode(p.levels[at - 1].size, paramNames(f)));
  }
  body += "[[maybe_unused]] warden::ndr::Encoder& e = call_.request();\n";
  for (const Element& p : f.params) {
    if (!p.in || isHandle(p)) continue;
    Site s;
    s.label = fmt::format("{}.{}", f.name, p.name);
    g.push(body, p, 0, std::string(p.name), s, 0);
    body += "e.drain();\n";
  }
  for (const Element& p : f.params) {
    if (p.out && !p.in && p.levels[0].kind == Kind::kPointer) {
      body += fmt::format(
          "if ({} == nullptr) throw warden::ndr::Fault(warden::ndr::kNullRefPointer, \"{}.{}: a "
          "[ref] pointer is null\");\n",
          p.name, f.name, p.name);
    }
  }
  body += "warden::ndr::Decoder& d = call_.send();\n";
  for (const Element& p : f.params) {
    if (!p.out) continue;
    Site s;
    s.client = true;
    s.outOnly = !p.in;
    s.label = fmt::format("{}.{}", f.name, p.name);
    std::string code;
    g.pull(code, p, 0, std::string(p.name), s, 0);
    const bool fixedReferent = p.levels.size() >= 2 && p.levels[0].kind == Kind::kPointer &&
                               p.levels[1].kind != Kind::kArray;
    if (!p.in && fixedReferent && p.levels[0].topLevel && g.conformantStruct(p, 1)) {
      body += fmt::format(
          "#error \"warden idl: {}.{}: an [out]-only conformant structure in the caller's storage "
          "has "
          "no size to check the reply against: declare it [out] T** so the stub allocates it\"\n",
          f.name, p.name);
    } else if (!p.in && fixedReferent) {
      // [out]-only storage holds nothing yet: embedded pointers in it are not the caller's nodes.
      body += fmt::format("std::memset(static_cast<void*>({0}), 0, sizeof *{0});\n", p.name);
    }
    const ast::Attribute* byteCount = findAttribute(*p.attributes, "byte_count");
    if (byteCount && fixedReferent && !byteCount->args.empty()) {
      // byte_count: the caller's one buffer holds the referent and every node under it.
      std::string len = exprCode(byteCount->args[0], paramNames(f));
      body += fmt::format(
          "{{\n"
          "    if ({1} < sizeof *{0}) throw warden::ndr::Fault(warden::ndr::kByteCountTooSmall, "
          "\"{2}.{0}: byte_count \" + std::to_string({1}) + \" is smaller than one node\");\n"
          "    warden::ndr::BumpAllocator bytes_(reinterpret_cast<std::byte*>({0}) + sizeof *{0}, "
          "{1} - sizeof *{0});\n"
          "    warden::ndr::Allocator* outer_ = d.swapAllocator(&bytes_);\n"
          "{3}"
          "    d.drain();\n"
          "    d.swapAllocator(outer_);\n"
          "}}\n",
          p.name, len, f.name, [&] {
            std::string out;
            std::size_t start = 0;
            while (start < code.size()) {
              std::size_t end = code.find('\n', start);
              out += "    " + code.substr(start, end - start) + "\n";
              start = end + 1;
            }
            return out;
          }());
      continue;
    }
    body += code;
    body += "d.drain();\n";
  }
  if (hasResult) {
    body += fmt::format("{} result_{{}};\n", returnType(op));
    Site s;
    s.client = true;
    s.label = fmt::format("{}.(result)", f.name);
    g.pull(body, f.result, 0, "result_", s, 0);
    body += "d.drain();\n";
  }
  body += "d.finish();\n";
  if (hasResult) body += "return result_;\n";
  w.line("");
  flushHelpers(w, g);
  w.line("{} {{", prototype(op));
  w.indent();
  if (!commTarget.empty() || !faultTarget.empty()) {
    w.line("try {{");
    w.indent();
    w.raw(body.substr(0, body.size() - 1));
    w.dedent();
    // [comm_status]: transport failures; [fault_status]: the server's faults. Anything else
    // (this stub's own checks, a reply that does not unmarshal) still raises.
    w.line("}} catch (const warden::ndr::Fault& fault_) {{");
    w.indent();
    for (const auto& [target, origin] :
         {std::pair{&commTarget, "kCommunication"}, std::pair{&faultTarget, "kServer"}}) {
      if (target->empty()) continue;
      w.line("if (fault_.origin() == warden::ndr::Fault::Origin::{}) {{", origin);
      w.indent();
      w.raw(*target);
      w.dedent();
      w.line("}}");
    }
    w.line("throw;");
    w.dedent();
    w.line("}}");
  } else {
    w.raw(body.substr(0, body.size() - 1));
  }
  w.dedent();
  w.line("}}");
}

void emitServerOperation(CodeWriter& w, const ir::Interface& in, const ir::Function& f,
                         const ast::Operation& op, const std::string& epvType) {
  Generator g(in);
  const bool hasResult = f.result.levels.front().resolved.kind != RKind::kVoid ||
                         f.result.levels.front().kind != Kind::kData;
  std::string body;
  body += fmt::format("const auto& m_ = *static_cast<const {}*>(epv_);\n", epvType);
  if (in.enableAllocate) body += "call_.enableAllocate();  // ACF [enable_allocate]\n";
  body += "warden::ndr::Decoder& d = call_.request();\n";
  std::vector<std::string> args;
  for (std::size_t k = 0; k < f.params.size(); ++k) {
    const Element& p = f.params[k];
    const ast::Param& ap = op.params[k];
    if (p.levels.back().resolved.contextHandle) {
      body += fmt::format("warden::stub::ServerContext ctx_{};\n", p.name);
    }
    if (isHandle(p)) {
      body += fmt::format("{} = call_.binding();\n", localVariable(ap.type, ap.declarator));
    } else {
      body += fmt::format("{}{{}};\n", localVariable(ap.type, ap.declarator));
    }
    // The local holds no const (the stub fills it); the manager gets the prototype's type back.
    if (ap.type->isConst && ap.declarator.pointers + ap.declarator.arrays.size() > 0) {
      args.push_back(
          fmt::format("const_cast<{}>({})", parameterType(ap.type, ap.declarator), p.name));
    } else {
      args.emplace_back(p.name);
    }
  }
  for (const Element& p : f.params) {
    if (!p.in || !Generator::correlated(p)) continue;
    body += fmt::format("std::uint64_t conf_{} = ~std::uint64_t{{0}};\n", p.name);
    if (Generator::correlated(p)->varying && Generator::correlated(p)->length) {
      body += fmt::format("std::uint64_t vary_{} = 0;\n", p.name);
    }
  }
  for (const Element& p : f.params) {
    if (!p.in || isHandle(p)) continue;
    Site s;
    s.label = fmt::format("{}.{}", f.name, p.name);
    g.pull(body, p, 0, std::string(p.name), s, 0);
    body += "d.drain();\n";
  }
  // The counts on the wire against the expressions over the parameters now read (MIDL's /robust
  // correlation checks): a manager then never reads past what arrived.
  for (const Element& p : f.params) {
    const Level* l = p.in ? Generator::correlated(p) : nullptr;
    if (l == nullptr) continue;
    std::string label = fmt::format("{}.{}", f.name, p.name);
    std::string checks =
        fmt::format("d.expectEqual(conf_{}, static_cast<std::uint64_t>({}), \"{}\");\n", p.name,
                    exprCode(l->size, paramNames(f)), label);
    if (l->varying && l->length) {
      checks += fmt::format("d.expectEqual(vary_{}, static_cast<std::uint64_t>({}), \"{}\");\n",
                            p.name, exprCode(l->length, paramNames(f)), label);
    }
    body +=
        fmt::format("if (conf_{} != ~std::uint64_t{{0}}) {{\n{}}}\n", p.name, indentLines(checks));
  }
  body += "d.finish();\n";
  // [out]-only ref pointers and arrays: the stub allocates the first level, zeroed.
  for (const Element& p : f.params) {
    if (p.in || p.levels.size() < 2) continue;
    if (p.levels[0].kind == Kind::kArray) {
      // T a[]: a pointer in C, to as many elements as the size says (T a[N] is a local array).
      if (p.levels[0].fixed) continue;
      body += fmt::format(
          "{0} = static_cast<decltype({0})>(call_.allocate(sizeof *{0} * "
          "static_cast<std::size_t>({1})));\n",
          p.name, exprCode(p.levels[0].size, paramNames(f)));
      continue;
    }
    if (p.levels[0].kind != Kind::kPointer) continue;
    const Level& next = p.levels[1];
    if (next.kind == Kind::kArray) {
      if (!next.conformant || next.size == nullptr) {
        body += fmt::format(
            "#error \"warden idl: {}.{}: an [out] array needs a size_is the server can "
            "evaluate\"\n",
            f.name, p.name);
        continue;
      }
      body += fmt::format(
          "{0} = static_cast<decltype({0})>(call_.allocate(sizeof *{0} * "
          "static_cast<std::size_t>({1})));\n",
          p.name, exprCode(next.size, paramNames(f)));
    } else {
      body +=
          fmt::format("{0} = static_cast<decltype({0})>(call_.allocate(sizeof *{0}));\n", p.name);
    }
  }
  body += "call_.handOver();\n";
  std::string call = fmt::format("m_.{}({})", f.name, fmt::join(args, ", "));
  if (hasResult) {
    body += fmt::format("{} result_ = {};\n", returnType(op), call);
  } else {
    body += call + ";\n";
  }
  body += "[[maybe_unused]] warden::ndr::Encoder& e = call_.reply();\n";
  for (const Element& p : f.params) {
    if (!p.out) continue;
    Site s;
    s.server = true;
    s.label = fmt::format("{}.{}", f.name, p.name);
    g.push(body, p, 0, std::string(p.name), s, 0);
    body += "e.drain();\n";
  }
  if (hasResult) {
    Site s;
    s.server = true;
    s.label = fmt::format("{}.(result)", f.name);
    g.push(body, f.result, 0, "result_", s, 0);
    body += "e.drain();\n";
  }
  body += "call_.freeManagerBlocks();\n";
  w.line("");
  flushHelpers(w, g);
  w.line("void s_{}(const void* epv_, warden::stub::ServerCall& call_) {{", f.name);
  w.indent();
  w.raw(body.substr(0, body.size() - 1));
  w.dedent();
  w.line("}}");
}

}  // namespace warden::idl
