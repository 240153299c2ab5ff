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

Resolved baseType(std::string_view name) {
  using K = Resolved::Kind;
  static const std::map<std::string_view, std::pair<K, unsigned>> kBases = {
      {"void", {K::kVoid, 0}},
      {"boolean", {K::kBoolean, 1}},
      {"byte", {K::kInteger, 1}},
      {"char", {K::kChar, 1}},
      {"signed char", {K::kInteger, 1}},
      {"unsigned char", {K::kInteger, 1}},
      {"small", {K::kInteger, 1}},
      {"signed small", {K::kInteger, 1}},
      {"unsigned small", {K::kInteger, 1}},
      {"short", {K::kInteger, 2}},
      {"signed short", {K::kInteger, 2}},
      {"unsigned short", {K::kInteger, 2}},
      {"short int", {K::kInteger, 2}},
      {"unsigned short int", {K::kInteger, 2}},
      {"int", {K::kInteger, 4}},
      {"signed int", {K::kInteger, 4}},
      {"unsigned int", {K::kInteger, 4}},
      {"signed", {K::kInteger, 4}},
      {"unsigned", {K::kInteger, 4}},
      {"long", {K::kInteger, 4}},
      {"signed long", {K::kInteger, 4}},
      {"unsigned long", {K::kInteger, 4}},
      {"long int", {K::kInteger, 4}},
      {"unsigned long int", {K::kInteger, 4}},
      {"hyper", {K::kInteger, 8}},
      {"signed hyper", {K::kInteger, 8}},
      {"unsigned hyper", {K::kInteger, 8}},
      {"long long", {K::kInteger, 8}},
      {"unsigned long long", {K::kInteger, 8}},
      {"signed long long", {K::kInteger, 8}},
      {"long long int", {K::kInteger, 8}},
      {"unsigned long long int", {K::kInteger, 8}},
      {"signed long int", {K::kInteger, 4}},
      {"signed short int", {K::kInteger, 2}},
      {"__int8", {K::kInteger, 1}},
      {"signed __int8", {K::kInteger, 1}},
      {"unsigned __int8", {K::kInteger, 1}},
      {"__int16", {K::kInteger, 2}},
      {"signed __int16", {K::kInteger, 2}},
      {"unsigned __int16", {K::kInteger, 2}},
      {"__int32", {K::kInteger, 4}},
      {"signed __int32", {K::kInteger, 4}},
      {"unsigned __int32", {K::kInteger, 4}},
      {"__int64", {K::kInteger, 8}},
      {"signed __int64", {K::kInteger, 8}},
      {"unsigned __int64", {K::kInteger, 8}},
      // MIDL's 64-bit environment (the one Warden generates for): pointer-sized, 8 bytes.
      {"__int3264", {K::kInteger, 8}},
      {"signed __int3264", {K::kInteger, 8}},
      {"unsigned __int3264", {K::kInteger, 8}},
      {"float", {K::kFloat, 4}},
      {"double", {K::kFloat, 8}},
      {"wchar_t", {K::kWchar, 2}},
      {"handle_t", {K::kHandle, 0}},
      {"error_status_t", {K::kInteger, 4}},
      {"ISO_LATIN_1", {K::kChar, 1}},
      {"ISO_MULTI_LINGUAL", {K::kWchar, 2}},
      {"ISO_UCS", {K::kInteger, 4}},
  };
  Resolved r;
  if (auto it = kBases.find(name); it != kBases.end()) {
    r.kind = it->second.first;
    r.size = it->second.second;
  }
  return r;
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
