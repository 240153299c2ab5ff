// A connection-oriented DCE/RPC server: registered interfaces (UUID and version, the generated
// server stubs and a manager EPV) answer calls that arrive over ncacn_ip_tcp or ncalrpc
// (AF_UNIX). Each connection is one association: bind and alter_context negotiate presentation
// contexts (NDR 2.0 accepted, NDR64 refused with provider rejection, MS-RPCE bind-time feature
// negotiation acknowledged), requests are reassembled from fragments up to a cap, and responses
// are fragmented to the negotiated size. Context handles live per connection and run down when
// the client goes away. stop() finishes the calls that are running.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "warden/ndr.h"
#include "warden/rpc.h"

namespace warden::rpc {

struct ServerOptions {
  std::size_t maxRequestBytes = std::size_t{4} << 20;  // reassembled stub data (MS-RPCE's default)
  std::uint16_t maxFragment = 5840;                    // the largest fragment either way
  ndr::Limits limits;                                  // per call, for unmarshalling requests
  std::chrono::milliseconds idleTimeout{std::chrono::minutes(5)};
  bool sameUserOnly = true;  // ncalrpc: refuse a peer whose user ID differs from the server's
};

struct ServerStats {
  std::uint64_t connections = 0;
  std::uint64_t calls = 0;
  std::uint64_t faults = 0;
  std::uint64_t protocolErrors = 0;  // connections closed for breaking the protocol
  std::uint64_t liveCalls = 0;       // calls whose stubs are running now
  std::uint64_t liveConnections = 0;
};

class Server {
 public:
  explicit Server(ServerOptions options = {});
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The interface a generated _s_ifspec describes, answered by `epv` (its default EPV when null).
  // Before or while listening: the endpoint map learns it for every TCP endpoint.
  void registerInterface(RPC_IF_HANDLE spec, const void* epv = nullptr);
  // ncacn_ip_tcp on `host` (default loopback); port 0 picks one. Returns the port.
  Result<std::uint16_t> listenTcp(std::string_view host = "127.0.0.1", std::uint16_t port = 0);
  // ncalrpc at socket file `path` (mode 0600; peers of another user refused unless
  // options.sameUserOnly is false).
  Status listenUnix(const std::string& path);
  // Stops accepting, lets running calls finish and send their replies, closes every
  // connection (running their context handles down) and joins the threads.
  void stop();
  ServerStats stats() const;

  struct Impl;  // server.cc's

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace warden::rpc
