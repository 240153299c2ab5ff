// Base type tables and attribute lookup; the Symbols members are in the header.
#include "idl/symbols.h"

namespace warden::idl {

const ast::Attribute* findAttribute(const ast::Attributes& attrs, std::string_view name) {
  for (const ast::Attribute& a : attrs) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::vector<const ast::Operation*> operationsOf(const ast::Interface& in) {
  std::vector<const ast::Operation*> out;
  for (const ast::Item& item : in.items) {
    if (item.kind == ast::Item::Kind::kOperation) out.push_back(item.operation);
  }
  return out;
}

std::string interfaceVersion(const ast::Interface& in, char separator) {
  const ast::Attribute* v = findAttribute(in.attributes, "version");
  std::string text = v ? v->raw : "0.0";
  std::size_t dot = text.find('.');
  if (dot == std::string::npos) return text + separator + "0";
  text[dot] = separator;
  return text;
}

const ast::Interface* findInterface(const std::deque<ast::Module>& modules, std::string_view name) {
  for (const ast::Module& m : modules) {
    for (const ast::Interface& in : m.interfaces) {
      if (in.name == name && !in.forward) return &in;
    }
  }
  return nullptr;
}

std::vector<const ast::Operation*> methodsOf(const std::deque<ast::Module>& modules,
                                             const ast::Interface& in) {
  std::vector<const ast::Interface*> chain = {&in};  // most derived first
  while (chain.size() < 64 && !chain.back()->base.empty()) {
    const ast::Interface* base = findInterface(modules, chain.back()->base);
    if (base == nullptr) break;
    chain.push_back(base);
  }
  std::vector<const ast::Operation*> out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    for (const ast::Operation* op : operationsOf(**it)) out.push_back(op);
  }
  return out;
}

namespace {

struct BaseType {
  Resolved::Kind kind;
  unsigned size;       // NDR bytes
  std::string_view c;  // the C spelling with that size on an LP64 compiler
};

// MIDL's base types: one table for sema's sizes and the header's spellings.
const BaseType* findBase(std::string_view name) {
  using K = Resolved::Kind;
  static const std::map<std::string_view, BaseType> kBases = {
      {"void", {K::kVoid, 0, "void"}},
      {"boolean", {K::kBoolean, 1, "unsigned char"}},
      {"byte", {K::kInteger, 1, "unsigned char"}},
      {"char", {K::kChar, 1, "char"}},
      {"signed char", {K::kInteger, 1, "signed char"}},
      {"unsigned char", {K::kInteger, 1, "unsigned char"}},
      {"small", {K::kInteger, 1, "int8_t"}},
      {"signed small", {K::kInteger, 1, "int8_t"}},
      {"unsigned small", {K::kInteger, 1, "uint8_t"}},
      {"short", {K::kInteger, 2, "int16_t"}},
      {"signed short", {K::kInteger, 2, "int16_t"}},
      {"unsigned short", {K::kInteger, 2, "uint16_t"}},
      {"short int", {K::kInteger, 2, "int16_t"}},
      {"unsigned short int", {K::kInteger, 2, "uint16_t"}},
      {"int", {K::kInteger, 4, "int32_t"}},
      {"signed int", {K::kInteger, 4, "int32_t"}},
      {"unsigned int", {K::kInteger, 4, "uint32_t"}},
      {"signed", {K::kInteger, 4, "int32_t"}},
      {"unsigned", {K::kInteger, 4, "uint32_t"}},
      {"long", {K::kInteger, 4, "int32_t"}},
      {"signed long", {K::kInteger, 4, "int32_t"}},
      {"unsigned long", {K::kInteger, 4, "uint32_t"}},
      {"long int", {K::kInteger, 4, "int32_t"}},
      {"unsigned long int", {K::kInteger, 4, "uint32_t"}},
      {"hyper", {K::kInteger, 8, "int64_t"}},
      {"signed hyper", {K::kInteger, 8, "int64_t"}},
      {"unsigned hyper", {K::kInteger, 8, "uint64_t"}},
      {"long long", {K::kInteger, 8, "int64_t"}},
      {"unsigned long long", {K::kInteger, 8, "uint64_t"}},
      {"signed long long", {K::kInteger, 8, "int64_t"}},
      {"long long int", {K::kInteger, 8, "int64_t"}},
      {"unsigned long long int", {K::kInteger, 8, "uint64_t"}},
      {"signed long int", {K::kInteger, 4, "int32_t"}},
      {"signed short int", {K::kInteger, 2, "int16_t"}},
      {"__int8", {K::kInteger, 1, "int8_t"}},
      {"signed __int8", {K::kInteger, 1, "int8_t"}},
      {"unsigned __int8", {K::kInteger, 1, "uint8_t"}},
      {"__int16", {K::kInteger, 2, "int16_t"}},
      {"signed __int16", {K::kInteger, 2, "int16_t"}},
      {"unsigned __int16", {K::kInteger, 2, "uint16_t"}},
      {"__int32", {K::kInteger, 4, "int32_t"}},
      {"signed __int32", {K::kInteger, 4, "int32_t"}},
      {"unsigned __int32", {K::kInteger, 4, "uint32_t"}},
      {"__int64", {K::kInteger, 8, "int64_t"}},
      {"signed __int64", {K::kInteger, 8, "int64_t"}},
      {"unsigned __int64", {K::kInteger, 8, "uint64_t"}},
      {"__int3264", {K::kInteger, 8, "intptr_t"}},
      {"signed __int3264", {K::kInteger, 8, "intptr_t"}},
      {"unsigned __int3264", {K::kInteger, 8, "uintptr_t"}},
      {"float", {K::kFloat, 4, "float"}},
      {"double", {K::kFloat, 8, "double"}},
      {"wchar_t", {K::kWchar, 2, "char16_t"}},
      {"handle_t", {K::kHandle, 0, "handle_t"}},
      {"error_status_t", {K::kInteger, 4, "error_status_t"}},
      {"ISO_LATIN_1", {K::kChar, 1, "char"}},
      {"ISO_MULTI_LINGUAL", {K::kWchar, 2, "char16_t"}},
      {"ISO_UCS", {K::kInteger, 4, "uint32_t"}},
  };
  auto it = kBases.find(name);
  return it == kBases.end() ? nullptr : &it->second;
}

}  // namespace

Resolved baseType(std::string_view name) {
  Resolved r;
  if (const BaseType* b = findBase(name)) {
    r.kind = b->kind;
    r.size = b->size;
  }
  return r;
}

std::string_view cSpelling(std::string_view midl) {
  const BaseType* b = findBase(midl);
  return b ? b->c : midl;
}

// DCE's nbase.idl types, which DCE IDL files (conv, mgmt, epm) use without importing anything:
// predefined here as they are in DCE's compiler.
Resolved dceType(std::string_view name) {
  static const std::map<std::string_view, std::pair<Resolved::Kind, unsigned>> kNbase = {
      {"unsigned8", {Resolved::Kind::kInteger, 1}},  {"unsigned16", {Resolved::Kind::kInteger, 2}},
      {"unsigned32", {Resolved::Kind::kInteger, 4}}, {"unsigned64", {Resolved::Kind::kInteger, 8}},
      {"signed8", {Resolved::Kind::kInteger, 1}},    {"signed16", {Resolved::Kind::kInteger, 2}},
      {"signed32", {Resolved::Kind::kInteger, 4}},   {"signed64", {Resolved::Kind::kInteger, 8}},
      {"boolean32", {Resolved::Kind::kInteger, 4}},
  };
  Resolved r;
  if (auto it = kNbase.find(name); it != kNbase.end()) {
    r.kind = it->second.first;
    r.size = it->second.second;
  }
  return r;
}

}  // namespace warden::idl
