// Loading and import resolution. A file imported twice is parsed once; a file that imports
// itself through others is an import cycle (reported with the chain).
#include "idl/compiler.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "idl/symbols.h"

namespace warden::idl {

namespace fs = std::filesystem;

namespace {

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// `dir/name`, or the entry of `dir` whose name matches ignoring case.
std::optional<fs::path> lookIn(const fs::path& dir, std::string_view name) {
  std::error_code ec;
  fs::path exact = dir / fs::path(name);
  if (fs::is_regular_file(exact, ec)) return exact;
  fs::path wanted(name);
  fs::path parent = (dir / wanted).parent_path();
  std::string leaf = wanted.filename().string();
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    if (equalsIgnoringCase(it->path().filename().string(), leaf) && it->is_regular_file(ec)) {
      return it->path();
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<fs::path> Compilation::find(std::string_view name, const fs::path& fromDir) const {
  if (fs::path(name).is_absolute())
    return lookIn(fs::path(name).parent_path(), fs::path(name).filename().string());
  if (auto p = lookIn(fromDir, name)) return p;
  // Where MIDL runs (the main file's directory, as a build does) comes before the -I list.
  if (fromDir != mainDir_) {
    if (auto p = lookIn(mainDir_, name)) return p;
  }
  for (const fs::path& dir : options_.includeDirs) {
    if (auto p = lookIn(dir, name)) return p;
  }
  return std::nullopt;
}

std::optional<std::uint32_t> Compilation::readFile(const fs::path& path, Span from) {
  if (sources_.size() >= options_.maxFiles) {
    diagnostics_.error(from, "more than {} files in one compilation", options_.maxFiles);
    return std::nullopt;
  }
  std::error_code ec;
  std::uintmax_t size = fs::file_size(path, ec);
  if (ec) {
    diagnostics_.error(from, "cannot read {}: {}", path.string(), ec.message());
    return std::nullopt;
  }
  if (size > options_.maxFileBytes) {
    diagnostics_.error(from, "{} is {} bytes, over the {}-byte limit", path.string(), size,
                       options_.maxFileBytes);
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) {
    diagnostics_.error(from, "cannot read {}", path.string());
    return std::nullopt;
  }
  return sources_.add(path.string(), std::move(text).str());
}

std::vector<Token> Compilation::preprocessFile(std::uint32_t file, const fs::path& path) {
  const fs::path dir = path.parent_path();
  IncludeLoader includes = [&](std::string_view name, Span where) -> std::optional<std::uint32_t> {
    std::optional<fs::path> found = find(name, dir);
    if (!found) {
      diagnostics_.error(where,
                         "#include \"{}\": not found next to {}, the main file or in any -I "
                         "directory",
                         name, path.filename().string());
      return std::nullopt;
    }
    return readFile(*found, where);
  };
  return preprocess(sources_, file, diagnostics_, options_.preprocessor, includes);
}

bool Compilation::load(const fs::path& path) {
  mainDir_ = path.parent_path();
  main_ = loadFile(path, Span{Loc{UINT32_MAX, 0}, 0});
  if (main_ != nullptr) loadAcf(path);
  return main_ != nullptr;
}

void Compilation::loadAcf(const fs::path& idlPath) {
  const Span nowhere{Loc{UINT32_MAX, 0}, 0};
  fs::path path = options_.acf;
  if (path.empty()) {
    std::optional<fs::path> beside =
        lookIn(idlPath.parent_path(), idlPath.stem().string() + ".acf");
    if (!beside) return;
    path = *beside;
  }
  std::optional<std::uint32_t> file = readFile(path, nowhere);
  if (!file) return;
  std::vector<Token> tokens = preprocessFile(*file, path);
  acf_.emplace();
  acf_->file = *file;
  parseAcf(tokens, *acf_, diagnostics_, options_.parser);
  for (const ast::AcfInterface& in : acf_->acf) applyAcf(in);
}

namespace {

void merge(ast::Attributes& into, const ast::Attributes& from, std::string_view target = {}) {
  for (ast::Attribute a : from) {
    a.fromAcf = true;
    a.acfTarget = target;
    into.push_back(std::move(a));
  }
}

// The element of `arena` at `address` (arenas own the nodes items point to).
template <typename T>
T* owned(std::deque<T>& arena, const T* address) {
  for (T& node : arena) {
    if (&node == address) return &node;
  }
  return nullptr;
}

}  // namespace

void Compilation::applyAcf(const ast::AcfInterface& acf) {
  ast::Module& main = *std::find_if(modules_.begin(), modules_.end(),
                                    [&](const ast::Module& m) { return &m == main_; });
  ast::Interface* in = nullptr;
  for (ast::Interface& candidate : main.interfaces) {
    if (candidate.name == acf.name && !candidate.forward) in = &candidate;
  }
  if (in == nullptr) {
    diagnostics_.error(acf.span, "the ACF configures interface {}, which {} does not define",
                       acf.name, sources_.file(main.file).path);
    return;
  }
  merge(in->attributes, acf.attributes);
  for (const ast::AcfTypedef& t : acf.typedefs) {
    ast::Typedef* target = nullptr;
    for (ast::Module& m : modules_) {
      for (ast::Typedef& td : m.typedefs) {
        for (const ast::Declarator& d : td.declarators) {
          if (d.name == t.name) target = &td;
        }
      }
    }
    if (target == nullptr) {
      diagnostics_.error(t.span, "the ACF names type '{}', which the IDL does not define", t.name);
      continue;
    }
    merge(target->attributes, t.attributes, t.name);
  }
  for (const ast::AcfOperation& o : acf.operations) {
    ast::Operation* op = nullptr;
    for (const ast::Item& item : in->items) {
      if (item.kind == ast::Item::Kind::kOperation && item.operation->declarator.name == o.name) {
        op = owned(main.operations, item.operation);
      }
    }
    if (op == nullptr) {
      diagnostics_.error(o.span, "the ACF names operation '{}', which interface {} does not have",
                         o.name, in->name);
      continue;
    }
    merge(op->attributes, o.attributes);
    for (const ast::AcfParam& p : o.params) {
      auto it = std::find_if(op->params.begin(), op->params.end(),
                             [&](const ast::Param& q) { return q.declarator.name == p.name; });
      if (it == op->params.end()) {
        diagnostics_.error(p.span, "the ACF names parameter '{}', which {} does not have", p.name,
                           o.name);
        continue;
      }
      merge(it->attributes, p.attributes);
    }
  }
  const ast::Attribute* everywhere = findAttribute(in->attributes, "explicit_handle");
  for (const ast::Item& item : in->items) {
    if (item.kind != ast::Item::Kind::kOperation) continue;
    ast::Operation* op = owned(main.operations, item.operation);
    const ast::Attribute* here = findAttribute(op->attributes, "explicit_handle");
    if (here != nullptr || everywhere != nullptr) {
      addExplicitHandle(main, *op, (here != nullptr ? here : everywhere)->span);
    }
  }
}

bool Compilation::binds(const ast::Param& p) const {
  if (findAttribute(p.attributes, "out") != nullptr &&
      findAttribute(p.attributes, "in") == nullptr) {
    return false;
  }
  if (findAttribute(p.attributes, "context_handle") != nullptr) return true;
  const ast::TypeSpec* t = p.type;
  if (t->kind == ast::TypeSpec::Kind::kBase)
    return t->name == "handle_t" && p.declarator.pointers == 0;
  for (int depth = 0; t != nullptr && t->kind == ast::TypeSpec::Kind::kNamed && depth < 64;
       ++depth) {
    const ast::Typedef* found = nullptr;
    for (const ast::Module& m : modules_) {
      for (const ast::Typedef& td : m.typedefs) {
        for (const ast::Declarator& d : td.declarators) {
          if (d.name == t->name) found = &td;
        }
      }
    }
    if (found == nullptr) return false;
    if (findAttribute(found->attributes, "handle") != nullptr ||
        findAttribute(found->attributes, "context_handle") != nullptr) {
      return true;
    }
    t = found->type;
  }
  return t != nullptr && t->kind == ast::TypeSpec::Kind::kBase && t->name == "handle_t";
}

void Compilation::addExplicitHandle(ast::Module& main, ast::Operation& op, Span span) {
  for (const ast::Param& p : op.params) {
    if (binds(p)) return;
  }
  ast::TypeSpec& type = main.types.emplace_back();
  type.kind = ast::TypeSpec::Kind::kBase;
  type.span = span;
  type.name = "handle_t";
  ast::Param handle;
  handle.span = span;
  ast::Attribute in;
  in.name = "in";
  in.span = span;  // MIDL's own [in], not one the ACF wrote
  handle.attributes.push_back(in);
  handle.type = &type;
  handle.declarator.name = "IDL_handle";
  handle.declarator.span = span;
  op.params.insert(op.params.begin(), std::move(handle));
}

const ast::Module* Compilation::loadFile(const fs::path& path, Span from) {
  std::error_code ec;
  fs::path key = fs::weakly_canonical(path, ec);
  if (ec) key = path;
  if (auto it = std::find(stack_.begin(), stack_.end(), key); it != stack_.end()) {
    std::string chain;
    for (auto n = stackNames_.begin() + (it - stack_.begin()); n != stackNames_.end(); ++n) {
      chain += *n + " -> ";
    }
    diagnostics_.error(from, "import cycle: {}{}", chain, path.filename().string());
    return nullptr;
  }
  if (auto it = loaded_.find(key); it != loaded_.end()) return it->second;
  std::optional<std::uint32_t> file = readFile(path, from);
  if (!file) return nullptr;

  const fs::path dir = path.parent_path();
  std::vector<Token> tokens = preprocessFile(*file, path);
  ast::Module parsed;
  parsed.file = *file;
  parse(tokens, parsed, diagnostics_, options_.parser);

  stack_.push_back(key);
  stackNames_.push_back(path.filename().string());
  importsOf(parsed.items, dir);
  stack_.pop_back();
  stackNames_.pop_back();

  const ast::Module* module = &modules_.emplace_back(std::move(parsed));
  loaded_[key] = module;
  return module;
}

void Compilation::importsOf(const std::vector<ast::Item>& items, const fs::path& dir) {
  for (const ast::Item& item : items) {
    if (item.kind == ast::Item::Kind::kInterface) {
      importsOf(item.interface->items, dir);
      continue;
    }
    if (item.kind != ast::Item::Kind::kImport) continue;
    for (std::size_t i = 0; i < item.imports.size(); ++i) {
      std::optional<fs::path> found = find(item.imports[i], dir);
      if (!found) {
        diagnostics_.error(item.importSpans[i],
                           "import \"{}\": not found next to the importing file, the main file "
                           "or in any -I directory",
                           item.imports[i]);
        continue;
      }
      loadFile(*found, item.importSpans[i]);
    }
  }
}

}  // namespace warden::idl
