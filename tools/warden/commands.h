// The subcommands of the `warden` CLI. Each registers itself on the app and reports its exit code
// through `exitCode`; errors are one line on stderr, "warden <command>: <cause>".
#pragma once

#include <CLI/CLI.hpp>

namespace warden::cli {

// `warden custody-demo`: a simulated expert run that fails, and what the host takes back.
void addCustodyDemo(CLI::App& app, int& exitCode);

// `warden info FILE`: format, interfaces, frames, time span and bytes of a capture.
void addInfo(CLI::App& app, int& exitCode);

// `warden experts`: the expert plug-ins found, with load errors.
void addExperts(CLI::App& app, int& exitCode);

// `warden run CAPTURE -e NAME[:OPTIONS]...`: experts over a capture, events and outcomes.
void addRun(CLI::App& app, int& exitCode);

// `warden idl FILE.idl [-I DIR]...`: load and check an IDL file with its imports.
void addIdl(CLI::App& app, int& exitCode);

// `warden rpc epm --listen HOST[:PORT]`: a DCE endpoint mapper until SIGINT or SIGTERM.
void addRpc(CLI::App& app, int& exitCode);

}  // namespace warden::cli
