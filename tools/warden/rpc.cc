// `warden rpc epm --listen HOST[:PORT]`: a DCE endpoint mapper (the epm interface) on
// ncacn_ip_tcp, answering ept_map and ept_lookup for the interfaces of this process's servers
// (the mapper itself, for now). Port 0 or none picks a free port; 135 only when asked for.
// Runs until SIGINT or SIGTERM, then stops gracefully.
#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "rpc/endpoint_map.h"
#include "rpc/server.h"
#include "tools/warden/commands.h"

namespace warden::cli {

namespace {

int runEpm(const std::string& listen) {
  std::string host = listen;
  std::uint16_t port = 0;
  // HOST, HOST:PORT or [IPv6]:PORT (a bare IPv6 address has several colons and no port).
  const std::size_t colon = listen.rfind(':');
  const bool hasPort =
      colon != std::string::npos &&
      (listen.front() == '[' ? listen.find(']') < colon : listen.find(':') == colon);
  if (hasPort) {
    host = listen.substr(0, colon);
    try {
      const unsigned long p = std::stoul(listen.substr(colon + 1));
      if (p > 65535) throw std::out_of_range("port");
      port = static_cast<std::uint16_t>(p);
    } catch (const std::exception&) {
      fmt::print(stderr, "warden rpc epm: '{}' is not HOST[:PORT]\n", listen);
      return 2;
    }
  }
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // the server's threads inherit the mask
  rpc::Server server;
  rpc::hostEndpointMapper(server);
  auto bound = server.listenTcp(host, port);
  if (!bound.ok()) {
    fmt::print(stderr, "warden rpc epm: {}\n", bound.status().toString());
    return 1;
  }
  fmt::print("warden rpc epm: listening on ncacn_ip_tcp:{}[{}]\n", host, bound.value());
  std::fflush(stdout);
  int signal = 0;
  sigwait(&signals, &signal);
  server.stop();
  const rpc::ServerStats stats = server.stats();
  fmt::print("warden rpc epm: stopped after {} connections, {} calls, {} faults\n",
             stats.connections, stats.calls, stats.faults);
  return 0;
}

}  // namespace

void addRpc(CLI::App& app, int& exitCode) {
  CLI::App* rpc = app.add_subcommand("rpc", "DCE/RPC services");
  rpc->require_subcommand(1);
  auto listen = std::make_shared<std::string>("127.0.0.1");
  CLI::App* epm = rpc->add_subcommand(
      "epm", "Run a DCE endpoint mapper (ept_map, ept_lookup) until SIGINT or SIGTERM");
  epm->add_option("--listen", *listen,
                  "HOST[:PORT] to listen on (default 127.0.0.1, a free port; 135 only when "
                  "asked)");
  epm->callback([listen, &exitCode] { exitCode = runEpm(*listen); });
}

}  // namespace warden::cli
