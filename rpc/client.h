// The client side: a binding made from a string binding ("ncacn_ip_tcp:127.0.0.1[4444]",
// "ncalrpc:[name]"; without an endpoint the host's endpoint mapper is asked for the interface's
// port) whose handle_t the generated client stubs take. The connection opens on the
// first call and is reused; each interface is bound once per connection (bind, then
// alter_context for the next ones); requests are fragmented to the size the server agreed and
// replies reassembled up to a cap. A server's fault comes back as an ndr::Fault from the server;
// a refused bind, a dead connection or a timeout as a communication failure (the [comm_status]
// kind), and the connection is dropped so the next call starts a new one.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/status.h"
#include "rpc/pdu.h"
#include "rpc/socket.h"
#include "warden/stub.h"

namespace warden::rpc {

// RPC_S_* statuses a client sees for communication failures.
inline constexpr std::uint32_t kRpcServerUnavailable = 0x6BA;  // RPC_S_SERVER_UNAVAILABLE
inline constexpr std::uint32_t kRpcCallFailed = 0x6BE;         // RPC_S_CALL_FAILED
inline constexpr std::uint32_t kRpcUnknownInterface = 0x6B5;   // RPC_S_UNKNOWN_IF
inline constexpr std::uint32_t kRpcProtocolError = 0x6C0;      // RPC_S_PROTOCOL_ERROR

// A parsed string binding: [object_uuid@]protseq:[network_address][endpoint].
struct StringBinding {
  std::string objectUuid;
  std::string protocolSequence;  // "ncacn_ip_tcp", "ncalrpc"
  std::string networkAddress;    // host; empty for ncalrpc
  std::string endpoint;          // port or name
};
Result<StringBinding> parseStringBinding(std::string_view text);
std::string composeStringBinding(const StringBinding& b);

struct ClientOptions {
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // per call
  std::uint16_t maxFragment = 5840;
  std::size_t maxResponseBytes = std::size_t{64} << 20;
  ndr::Limits limits;  // unmarshalling replies
  // A string binding without an endpoint ("ncacn_ip_tcp:host") asks the endpoint mapper at
  // this port on that host for the interface's port on the first call.
  std::uint16_t endpointMapperPort = 135;
  // Wine 8.0's rpcrt4 server answers every request with the call_id of the connection's bind
  // (and Wine's client never looks). This client has one call at a time on a connection, so such
  // a reply can only be that call's: with this set it is taken and counted (mismatchedCallIds())
  // instead of ending the call as a protocol error.
  bool acceptMismatchedCallIds = false;
};

class ClientBinding final : public stub::Transport {
 public:
  static Result<std::unique_ptr<ClientBinding>> open(std::string_view stringBinding,
                                                     ClientOptions options = {});
  ~ClientBinding() override;

  // What the generated stubs take.
  handle_t handle() { return &binding_; }
  void call(const stub::InterfaceSpec& spec, std::uint32_t opnum,
            std::span<const std::uint8_t> request, std::vector<std::uint8_t>& reply) override;
  // Closes the connection (the next call opens another).
  void disconnect();
  const StringBinding& target() const { return target_; }
  // The fragment size the server agreed to; 0 before the first bind.
  std::uint16_t negotiatedFragment() const { return fragment_; }
  std::uint64_t mismatchedCallIds() const { return mismatchedCallIds_; }

 private:
  ClientBinding(StringBinding target, ClientOptions options);
  Status connect();
  // Fills in the endpoint from the host's endpoint mapper (ept_map for `spec`).
  Status resolve(const stub::InterfaceSpec& spec);
  Result<std::uint16_t> contextFor(const stub::InterfaceSpec& spec);
  Status exchange(std::vector<std::byte>& pdu, Header& header);

  StringBinding target_;
  ClientOptions options_;
  stub::Binding binding_;
  std::mutex mutex_;  // one call at a time per binding
  Socket socket_;
  std::uint16_t fragment_ = 0;
  std::uint32_t group_ = 0;
  std::uint32_t nextCall_ = 1;
  std::uint64_t mismatchedCallIds_ = 0;
  std::uint16_t nextContext_ = 0;
  std::map<std::string, std::uint16_t> contexts_;  // by interface id bytes
  std::vector<std::byte> out_;
};

}  // namespace warden::rpc
