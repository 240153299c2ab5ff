// Emission is a walk over the AST in source order: C requires declaration before use, and IDL
// files are written that way already.
#include "idl/header_emitter.h"

#include <filesystem>
#include <functional>
#include <map>

#include "idl/code_writer.h"

namespace warden::idl {

namespace {

using ast::Attribute;
using ast::Attributes;
using ast::Expr;
using ast::TypeSpec;

// MIDL base types spelled with their NDR sizes for an LP64 C compiler.
std::string cType(std::string_view midl) {
  static const std::map<std::string_view, std::string_view> kTypes = {
      {"small", "int8_t"},
      {"signed small", "int8_t"},
      {"unsigned small", "uint8_t"},
      {"char", "char"},
      {"signed char", "signed char"},
      {"unsigned char", "unsigned char"},
      {"byte", "unsigned char"},
      {"boolean", "unsigned char"},
      {"short", "int16_t"},
      {"signed short", "int16_t"},
      {"unsigned short", "uint16_t"},
      {"short int", "int16_t"},
      {"unsigned short int", "uint16_t"},
      {"int", "int32_t"},
      {"signed int", "int32_t"},
      {"unsigned int", "uint32_t"},
      {"signed", "int32_t"},
      {"unsigned", "uint32_t"},
      {"long", "int32_t"},
      {"signed long", "int32_t"},
      {"unsigned long", "uint32_t"},
      {"long int", "int32_t"},
      {"unsigned long int", "uint32_t"},
      {"hyper", "int64_t"},
      {"signed hyper", "int64_t"},
      {"unsigned hyper", "uint64_t"},
      {"long long", "int64_t"},
      {"unsigned long long", "uint64_t"},
      {"__int8", "int8_t"},
      {"signed __int8", "int8_t"},
      {"unsigned __int8", "uint8_t"},
      {"__int16", "int16_t"},
      {"signed __int16", "int16_t"},
      {"unsigned __int16", "uint16_t"},
      {"__int32", "int32_t"},
      {"signed __int32", "int32_t"},
      {"unsigned __int32", "uint32_t"},
      {"__int64", "int64_t"},
      {"signed __int64", "int64_t"},
      {"unsigned __int64", "uint64_t"},
      {"__int3264", "intptr_t"},
      {"signed __int3264", "intptr_t"},
      {"unsigned __int3264", "uintptr_t"},
      {"float", "float"},
      {"double", "double"},
      {"wchar_t", "char16_t"},
      {"void", "void"},
      {"handle_t", "handle_t"},
      {"error_status_t", "error_status_t"},
      {"ISO_LATIN_1", "char"},
      {"ISO_MULTI_LINGUAL", "char16_t"},
      {"ISO_UCS", "uint32_t"},
  };
  auto it = kTypes.find(midl);
  return std::string(it == kTypes.end() ? midl : it->second);
}

std::string expr(const Expr* e) {
  if (e == nullptr) return "";
  switch (e->kind) {
    case Expr::Kind::kNumber:
      return std::to_string(e->number);
    case Expr::Kind::kChar:
      return fmt::format("{}", e->number);
    case Expr::Kind::kString: {
      std::string s = "\"";
      for (char c : e->text) {
        if (c == '"' || c == '\\') s += '\\';
        s += c;
      }
      return s + "\"";
    }
    case Expr::Kind::kName:
      return e->text;
    case Expr::Kind::kUnary:
      return fmt::format("{}{}", e->op, expr(e->a));
    case Expr::Kind::kBinary:
      if (e->op == "." || e->op == "->")
        return fmt::format("{}{}{}", expr(e->a), e->op, expr(e->b));
      return fmt::format("( {} {} {} )", expr(e->a), e->op, expr(e->b));
    case Expr::Kind::kTernary:
      return fmt::format("( {} ? {} : {} )", expr(e->a), expr(e->b), expr(e->c));
    case Expr::Kind::kSizeof:
      if (e->type) {
        return fmt::format(
            "sizeof({}{})",
            e->type->kind == TypeSpec::Kind::kBase ? cType(e->type->name) : e->type->name,
            std::string(e->number, '*'));
      }
      return fmt::format("sizeof {}", expr(e->a));
    case Expr::Kind::kCast:
      return fmt::format(
          "( ({}{}) {} )",
          e->type->kind == TypeSpec::Kind::kBase ? cType(e->type->name) : e->type->name,
          std::string(e->number, '*'), expr(e->a));
    case Expr::Kind::kEmpty:
      return "";
    case Expr::Kind::kStar:
      return "*";
  }
  return "";
}

// "[in, out, size_is(cb)]" for a comment.
std::string attributesText(const Attributes& attrs) {
  std::string out;
  for (const Attribute& a : attrs) {
    out += out.empty() ? "[" : ", ";
    out += a.name;
    if (!a.hasArgs) continue;
    out += '(';
    if (a.type) {
      out += a.type->kind == TypeSpec::Kind::kBase ? a.type->name : a.type->name;
      out += std::string(static_cast<std::size_t>(a.typePointers), '*');
    } else if (!a.args.empty()) {
      for (std::size_t i = 0; i < a.args.size(); ++i) out += (i ? ", " : "") + expr(a.args[i]);
    } else {
      out += a.raw;
    }
    out += ')';
  }
  if (out.empty()) return out;
  // A comment must not end early.
  for (std::size_t at; (at = out.find("*/")) != std::string::npos;) out.replace(at, 2, "* /");
  return out + "]";
}

std::string comment(const Attributes& attrs) {
  std::string text = attributesText(attrs);
  return text.empty() ? "" : "/* " + text + " */ ";
}

class HeaderWriter {
 public:
  std::string run(const ast::Module& module, std::string_view idlPath) {
    std::string name = headerName(idlPath);
    std::string guard = "__";
    for (char c : name) guard += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    guard += "__";
    w_.line("/* Generated by warden idl from {}: do not edit. */",
            std::filesystem::path(idlPath).filename().string());
    w_.line("#ifndef {}", guard);
    w_.line("#define {}", guard);
    w_.line("");
    w_.line("#include \"warden/rpc.h\"");
    for (const ast::Item& item : module.items) includes(item);
    w_.line("");
    w_.line("#ifdef __cplusplus");
    w_.line("extern \"C\" {{");
    w_.line("#endif");
    emitAll(module.items);
    w_.line("");
    w_.line("#ifdef __cplusplus");
    w_.line("}}");
    w_.line("#endif");
    w_.line("");
    w_.line("#endif  /* {} */", guard);
    return w_.text();
  }

 private:
  void includes(const ast::Item& item) {
    if (item.kind == ast::Item::Kind::kInterface) {
      for (const ast::Item& inner : item.interface->items) includes(inner);
    }
    if (item.kind != ast::Item::Kind::kImport) return;
    for (const std::string& file : item.imports) w_.line("#include \"{}\"", headerName(file));
  }

  // IDL lets a typedef use a name defined further down (MIDL resolves it); C does not. Items are
  // written in source order, except that a typedef is pulled ahead of the first item that uses
  // it. A cycle (only through pointers, which NDR allows) stays in source order.
  void emitAll(const std::vector<ast::Item>& items) {
    std::map<std::string_view, std::size_t> definedAt;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (items[i].kind != ast::Item::Kind::kTypedef) continue;
      for (const ast::Declarator& d : items[i].typedefDecl->declarators) definedAt[d.name] = i;
    }
    std::vector<int> state(items.size(), 0);  // 0 new, 1 in progress, 2 written
    std::function<void(std::size_t)> visit = [&](std::size_t i) {
      if (state[i] != 0) return;
      state[i] = 1;
      std::vector<std::string_view> names;
      usedNames(items[i], names);
      for (std::string_view n : names) {
        auto it = definedAt.find(n);
        if (it != definedAt.end() && it->second > i) visit(it->second);
      }
      state[i] = 2;
      emit(items[i]);
    };
    for (std::size_t i = 0; i < items.size(); ++i) visit(i);
  }

  static void usedNames(const TypeSpec* t, std::vector<std::string_view>& out, int depth = 0) {
    if (t == nullptr || depth > 64) return;
    if (t->kind == TypeSpec::Kind::kNamed) out.push_back(t->name);
    if (t->structDef) {
      for (const ast::Field& f : t->structDef->fields) usedNames(f.type, out, depth + 1);
    }
    if (t->unionDef) {
      usedNames(t->unionDef->switchType, out, depth + 1);
      for (const ast::UnionArm& arm : t->unionDef->arms) {
        if (!arm.empty) usedNames(arm.field.type, out, depth + 1);
      }
    }
  }
  static void usedNames(const ast::Item& item, std::vector<std::string_view>& out) {
    switch (item.kind) {
      case ast::Item::Kind::kTypedef:
        usedNames(item.typedefDecl->type, out);
        break;
      case ast::Item::Kind::kTypeDecl:
        usedNames(item.typeDecl, out);
        break;
      case ast::Item::Kind::kOperation:
        usedNames(item.operation->returnType, out);
        for (const ast::Param& p : item.operation->params) usedNames(p.type, out);
        break;
      default:
        break;
    }
  }

  void emit(const ast::Item& item) {
    switch (item.kind) {
      case ast::Item::Kind::kImport:
        break;
      case ast::Item::Kind::kCppQuote:
        w_.raw(item.text);
        break;
      case ast::Item::Kind::kConst:
        w_.line("#define {} ( {} )", item.constDecl->declarator.name, expr(item.constDecl->value));
        break;
      case ast::Item::Kind::kTypedef:
        typedefDecl(*item.typedefDecl);
        break;
      case ast::Item::Kind::kTypeDecl:
        w_.line("");
        w_.raw(typeText(item.typeDecl) + ";");
        break;
      case ast::Item::Kind::kOperation:
        operation(*item.operation);
        break;
      case ast::Item::Kind::kInterface:
        interface(*item.interface);
        break;
    }
  }

  void interface(const ast::Interface& in) {
    if (in.forward) return;
    w_.line("");
    w_.line("/* interface {} {} */", in.name, attributesText(in.attributes));
    const Attribute* handle = nullptr;
    for (const Attribute& a : in.attributes) {
      if (a.name == "implicit_handle") handle = &a;
    }
    (void)handle;
    contextHandles_.clear();
    emitAll(in.items);
    bool local = false;
    std::string version = "0_0";
    for (const Attribute& a : in.attributes) {
      local |= a.name == "local" || a.name == "object";
      if (a.name == "version") {
        std::string v = a.raw.find('.') == std::string::npos ? a.raw + ".0" : a.raw;
        version = v.substr(0, v.find('.')) + "_" + v.substr(v.find('.') + 1);
      }
    }
    if (!local) {
      w_.line("");
      w_.line("extern RPC_IF_HANDLE {}_v{}_c_ifspec;", in.name, version);
      w_.line("extern RPC_IF_HANDLE {}_v{}_s_ifspec;", in.name, version);
    }
    if (!contextHandles_.empty()) {
      w_.line("");
      w_.line("/* Context handle rundowns: the server calls them when a client goes away. */");
      for (const std::string& h : contextHandles_) w_.line("void {}_rundown({} handle);", h, h);
    }
  }

  void typedefDecl(const ast::Typedef& td) {
    w_.line("");
    std::string text = "typedef " + comment(td.attributes) + typeText(td.type);
    for (std::size_t i = 0; i < td.declarators.size(); ++i) {
      text += i == 0 ? " " : ", ";
      text += declarator(td.declarators[i]);
    }
    w_.raw(text + ";");
    for (const Attribute& a : td.attributes) {
      if (a.name != "context_handle") continue;
      for (const ast::Declarator& d : td.declarators) {
        // The handle itself (void*), not a pointer to one (void**) declared beside it.
        if (d.pointers <= 1 && d.arrays.empty()) contextHandles_.emplace_back(d.name);
      }
    }
  }

  void operation(const ast::Operation& op) {
    w_.line("");
    std::string text = comment(op.attributes) + typeText(op.returnType) + " " +
                       std::string(static_cast<std::size_t>(op.declarator.pointers), '*') +
                       std::string(op.declarator.name) + "(";
    if (op.params.empty()) text += "void";
    for (std::size_t i = 0; i < op.params.size(); ++i) {
      const ast::Param& p = op.params[i];
      text += i == 0 ? "\n    " : ",\n    ";
      text += comment(p.attributes) + typeText(p.type);
      std::string d = declarator(p.declarator, /*parameter=*/true);
      if (!d.empty()) text += " " + d;
    }
    w_.raw(text + ");");
  }

  // A conformant array is [ 1 ] in a struct (MIDL's shape) and [] as a parameter.
  std::string declarator(const ast::Declarator& d, bool parameter = false) {
    std::string out;
    for (int i = 0; i < d.pointers; ++i) {
      out += '*';
      if (static_cast<std::size_t>(i) < d.constPointer.size() && d.constPointer[i])
        out += " const ";
    }
    out += d.name;
    for (const ast::ArrayDim& dim : d.arrays) {
      if (dim.size == nullptr || dim.star) {
        out += parameter ? "[]" : "[ 1 ]";
      } else if (dim.lower) {
        out += fmt::format("[ {} - {} + 1 ]", expr(dim.size), expr(dim.lower));
      } else {
        out += fmt::format("[ {} ]", expr(dim.size));
      }
    }
    return out;
  }

  std::string typeText(const TypeSpec* t) {
    std::string prefix = t->isConst ? "const " : "";
    switch (t->kind) {
      case TypeSpec::Kind::kBase:
        return prefix + cType(t->name);
      case TypeSpec::Kind::kNamed:
        return prefix + t->name;
      case TypeSpec::Kind::kStruct:
        return prefix + structText(*t->structDef);
      case TypeSpec::Kind::kUnion:
        return prefix + unionText(*t->unionDef);
      case TypeSpec::Kind::kEnum:
        return prefix + enumText(*t->enumDef);
    }
    return prefix;
  }

  std::string member(const ast::Field& f) {
    std::string d = declarator(f.declarator);
    return comment(f.attributes) + typeText(f.type) + (d.empty() ? "" : " " + d) + ";";
  }

  std::string structText(const ast::StructDef& s) {
    std::string out = "struct";
    if (!s.tag.empty()) out += " " + std::string(s.tag);
    if (!s.hasBody) return out;
    out += " {\n";
    for (const ast::Field& f : s.fields) out += indented(member(f));
    return out + "}";
  }

  std::string unionText(const ast::UnionDef& u) {
    std::string arms;
    for (const ast::UnionArm& arm : u.arms) {
      std::string labels;
      for (const Expr* c : arm.cases) labels += "case " + expr(c) + ": ";
      if (arm.isDefault) labels += "default: ";
      if (!labels.empty()) labels = "/* " + labels.substr(0, labels.size() - 1) + " */ ";
      if (arm.empty) {
        arms += indented(labels + comment(arm.field.attributes) + "/* an empty arm */");
      } else {
        arms += indented(labels + member(arm.field));
      }
    }
    if (!u.encapsulated) {
      std::string out = "union";
      if (!u.tag.empty()) out += " " + std::string(u.tag);
      if (!u.hasBody) return out;
      return out + " {\n" + arms + "}";
    }
    // MIDL: struct tag { switch_type switch_name; union { ... } union_name; }
    std::string out = "struct";
    if (!u.tag.empty()) out += " " + std::string(u.tag);
    if (!u.hasBody) return out;
    out += " {\n";
    out += indented(typeText(u.switchType) + " " + std::string(u.switchName) + ";");
    out += indented("union {\n" + arms + "} " +
                    std::string(u.unionName.empty() ? "tagged_union" : u.unionName) + ";");
    return out + "}";
  }

  std::string enumText(const ast::EnumDef& e) {
    std::string out = "enum";
    if (!e.tag.empty()) out += " " + std::string(e.tag);
    if (!e.hasBody) return out;
    out += " {\n";
    for (std::size_t i = 0; i < e.enumerators.size(); ++i) {
      const ast::Enumerator& en = e.enumerators[i];
      std::string line(en.name);
      if (en.value) line += " = " + expr(en.value);
      if (i + 1 < e.enumerators.size()) line += ",";
      out += indented(line);
    }
    return out + "}";
  }

  static std::string indented(const std::string& text) {
    std::string out;
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      out += "    " + text.substr(start, end - start) + "\n";
      start = end + 1;
    }
    return out;
  }

  CodeWriter w_;
  std::vector<std::string> contextHandles_;
};

}  // namespace

std::string headerName(std::string_view idlPath) {
  std::filesystem::path p(idlPath);
  return p.stem().string() + ".h";
}

std::string emitHeader(const ast::Module& module, std::string_view idlPath) {
  return HeaderWriter().run(module, idlPath);
}

}  // namespace warden::idl
