// `warden idl`: loads an IDL file with its imports, checks it with MIDL's rules, printing every
// diagnostic (file:line:col, the line, a caret), and writes its C header (--header) and the
// stubs (--client, --server).
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "idl/compiler.h"
#include "idl/header_emitter.h"
#include "idl/levels.h"
#include "idl/sema.h"
#include "idl/stub_emitter.h"
#include "tools/warden/commands.h"

namespace warden::cli {

namespace {

struct IdlOptions {
  std::string path;
  std::vector<std::string> includeDirs;
  std::vector<std::string> defines;
  std::vector<std::string> undefines;
  std::string acf;
  bool warningsAsErrors = false;
  std::string outDir = ".";
  bool header = false;
  bool importHeaders = false;
  bool dumpIr = false;
  bool client = false;
  bool server = false;
  std::string managerPrefix;
};

// Writes `text` to dir/name; false (with a message) when it cannot.
bool writeFile(const std::filesystem::path& dir, const std::string& name, const std::string& text) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    std::fprintf(stderr, "warden idl: cannot write %s\n", (dir / name).string().c_str());
    return false;
  }
  return true;
}

int runIdl(const IdlOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  idl::CompileOptions compile;
  for (const std::string& dir : options.includeDirs) compile.includeDirs.emplace_back(dir);
  for (const std::string& d : options.defines) {
    std::size_t eq = d.find('=');
    compile.preprocessor.defines.emplace_back(d.substr(0, eq),
                                              eq == std::string::npos ? "" : d.substr(eq + 1));
  }
  compile.preprocessor.undefines = options.undefines;
  compile.acf = options.acf;
  idl::Compilation compilation(compile);
  bool loaded = compilation.load(options.path);
  if (loaded) idl::check(compilation);
  const idl::DiagnosticSink& diagnostics = compilation.diagnostics();
  std::fputs(diagnostics.format(compilation.sources()).c_str(), stderr);
  std::size_t warnings = 0;
  for (const idl::Diagnostic& d : diagnostics.diagnostics()) {
    warnings += d.severity == idl::Severity::kWarning;
  }
  if (!loaded) return 1;
  std::size_t interfaces = 0, operations = 0, types = 0;
  for (const idl::ast::Module& m : compilation.modules()) {
    interfaces += m.interfaces.size();
    operations += m.operations.size();
    types += m.typedefs.size();
  }
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "%s: %zu files, %zu interfaces, %zu operations, %zu typedefs: %zu errors, %zu "
      "warnings (%.1f ms)\n",
      options.path.c_str(), compilation.modules().size(), interfaces, operations, types,
      diagnostics.errorCount(), warnings, ms);
  if (diagnostics.errorCount() > 0) return 1;
  if (options.warningsAsErrors && warnings > 0) return 1;
  if (options.dumpIr) std::fputs(idl::ir::dump(idl::ir::build(compilation)).c_str(), stdout);
  if (options.client || options.server) {
    const idl::ast::Module& main = *compilation.mainModule();
    const std::string& path = compilation.sources().file(main.file).path;
    if (options.client && !writeFile(options.outDir, idl::clientStubName(path),
                                     idl::emitClientStub(compilation, path))) {
      return 1;
    }
    if (options.server &&
        !writeFile(options.outDir, idl::serverStubName(path),
                   idl::emitServerStub(compilation, path, options.managerPrefix))) {
      return 1;
    }
  }
  if (options.header || options.importHeaders) {
    for (const idl::ast::Module& m : compilation.modules()) {
      bool isMain = &m == compilation.mainModule();
      if (!isMain && !options.importHeaders) continue;
      const std::string& path = compilation.sources().file(m.file).path;
      if (!writeFile(options.outDir, idl::headerName(path),
                     idl::emitHeader(m, path, &compilation.modules())))
        return 1;
    }
  }
  return 0;
}

}  // namespace

void addIdl(CLI::App& app, int& exitCode) {
  auto options = std::make_shared<IdlOptions>();
  CLI::App* sub = app.add_subcommand(
      "idl", "Check an IDL file and its imports with MIDL's rules (every error, with carets)");
  sub->add_option("file", options->path, "the .idl file")->required();
  sub->add_option("-I,--include", options->includeDirs,
                  "a directory to search for imports and #include files (in order)");
  sub->add_option("-D,--define", options->defines, "a preprocessor macro: NAME or NAME=VALUE");
  sub->add_option("-U,--undefine", options->undefines, "remove a predefined macro (__midl)");
  sub->add_option("--acf", options->acf,
                  "the application configuration file (default: FILE.acf beside FILE.idl)");
  sub->add_flag("--warnings-as-errors", options->warningsAsErrors, "fail on warnings too");
  sub->add_option("-o,--out", options->outDir, "the directory to write into (default: .)");
  sub->add_flag("--header", options->header, "write FILE.h, the C header (MIDL's /h)");
  sub->add_flag("--client", options->client, "write FILE_c.cc: the client stubs (MIDL's /cstub)");
  sub->add_flag("--server", options->server,
                "write FILE_s.cc: the server stubs and manager entry point vectors "
                "(MIDL's /sstub)");
  sub->add_option("--manager-prefix", options->managerPrefix,
                  "put PREFIX before the manager routines' names in the server's default EPV "
                  "(MIDL's /prefix server), so one program can hold a client and a server");
  sub->add_flag("--dump-ir", options->dumpIr,
                "print the NDR levels of every parameter and member (pointer, array, switch, "
                "data)");
  sub->add_flag("--import-headers", options->importHeaders,
                "also write the header of every imported file (ms-dtyp.idl -> ms-dtyp.h)");
  sub->callback([options, &exitCode] { exitCode = runIdl(*options); });
}

}  // namespace warden::cli
