// warden: the one command line over both halves of Warden (captures and experts, IDL and RPC).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "tools/warden/commands.h"
#include "warden/version.h"

int main(int argc, char** argv) {
  CLI::App app{"Warden: capture analysis with experts, and DCE/RPC with the MIDL memory model"};
  app.set_version_flag("--version", fmt::format("warden {} ({}, {})", warden::kVersion,
                                                warden::kCompiler, warden::kBuildType));
  app.require_subcommand(1);
  int exitCode = 0;
  warden::cli::addInfo(app, exitCode);
  warden::cli::addRun(app, exitCode);
  warden::cli::addExperts(app, exitCode);
  warden::cli::addCustodyDemo(app, exitCode);
  warden::cli::addIdl(app, exitCode);
  warden::cli::addRpc(app, exitCode);
  // coalesce and rpc join here as their issues land.
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "warden: %s (see warden --help)\n", e.what());
    return e.get_exit_code() == 0 ? 2 : e.get_exit_code();
  }
  return exitCode;
}
