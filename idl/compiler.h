// One IDL compilation: the main file and, once each, every file it imports (MIDL's search order:
// the importing file's directory, the main file's (where a build runs MIDL), then each -I
// directory; names match case-insensitively, as on Windows). Each file is preprocessed on its own
// and parsed into a Module; imported modules come before the modules that import them. The ACF
// (FILE.acf beside the IDL, or --acf) is parsed and its attributes merged into the nodes it names.
// Every problem goes to `diagnostics`.
#pragma once

#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "idl/ast.h"
#include "idl/diagnostics.h"
#include "idl/parser.h"
#include "idl/preprocessor.h"
#include "idl/source.h"

namespace warden::idl {

struct CompileOptions {
  std::vector<std::filesystem::path> includeDirs;  // -I, in order
  // The application configuration file; when empty, FILE.acf beside FILE.idl is used if present.
  std::filesystem::path acf;
  PreprocessorOptions preprocessor;
  ParseOptions parser;
  std::size_t maxFileBytes = std::size_t{64} << 20;
  std::size_t maxFiles = 1000;  // files loaded in one compilation
};

class Compilation {
 public:
  explicit Compilation(CompileOptions options) : options_(std::move(options)) {}

  // Loads `path` as the main file. False when it could not be read (see diagnostics()).
  bool load(const std::filesystem::path& path);

  const SourceSet& sources() const { return sources_; }
  DiagnosticSink& diagnostics() { return diagnostics_; }
  const DiagnosticSink& diagnostics() const { return diagnostics_; }
  // Every parsed file, imports first; the main file is last.
  const std::deque<ast::Module>& modules() const { return modules_; }
  const ast::Module* mainModule() const { return main_; }
  // The ACF that was applied (its attributes are merged into the IDL's nodes, marked fromAcf),
  // or null.
  const ast::Module* acfModule() const { return acf_ ? &*acf_ : nullptr; }

 private:
  // The module of `path`, parsing it (and its imports) on first use; null when it cannot be read.
  const ast::Module* loadFile(const std::filesystem::path& path, Span from);
  std::optional<std::filesystem::path> find(std::string_view name,
                                            const std::filesystem::path& fromDir) const;
  std::optional<std::uint32_t> readFile(const std::filesystem::path& path, Span from);
  // The tokens of `file` (read from `path`), its #includes found as imports are.
  std::vector<Token> preprocessFile(std::uint32_t file, const std::filesystem::path& path);
  void importsOf(const std::vector<ast::Item>& items, const std::filesystem::path& dir);
  void loadAcf(const std::filesystem::path& idlPath);
  void applyAcf(const ast::AcfInterface& acf);
  // ACF [explicit_handle]: `op` gains a first parameter `[in] handle_t IDL_handle` unless one of
  // its [in] parameters already binds (a handle_t, a generic [handle], a context handle).
  void addExplicitHandle(ast::Module& main, ast::Operation& op, Span span);
  bool binds(const ast::Param& p) const;

  CompileOptions options_;
  SourceSet sources_;
  DiagnosticSink diagnostics_;
  std::deque<ast::Module> modules_;
  const ast::Module* main_ = nullptr;
  std::filesystem::path mainDir_;
  std::optional<ast::Module> acf_;
  std::map<std::filesystem::path, const ast::Module*> loaded_;  // by canonical path
  std::vector<std::filesystem::path> stack_;                    // files being loaded
  std::vector<std::string> stackNames_;
};

}  // namespace warden::idl
