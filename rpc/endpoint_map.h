// The endpoint mapper's data: which interface listens at which protocol tower, and the towers
// themselves (C706 appendix L: a floor count, then floors of left- and right-hand sides; floors
// 1-2 the interface and transfer syntax, 3 the RPC protocol, 4-5 the transport's port and host).
// A Warden server registers its interfaces' TCP endpoints here as it starts listening; a server
// that also hosts the epm interface (rpc::hostEndpointMapper) answers ept_map and ept_lookup
// from it, so impacket's hept_map and Windows' clients can find a dynamic port.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "rpc/server.h"
#include "warden/stub.h"

namespace warden::rpc {

inline constexpr std::uint32_t kEptNotRegistered = 0x16C9A0D6;  // EPT_S_NOT_REGISTERED
inline constexpr std::uint32_t kEptCantPerformOp = 0x16C9A0D8;  // EPT_S_CANT_PERFORM_OP

// The parts of an ncacn_ip_tcp tower.
struct TcpTower {
  stub::SyntaxId interfaceId{};
  stub::SyntaxId transferSyntax = stub::kNdr20;
  std::uint16_t port = 0;
  std::array<std::uint8_t, 4> ipv4{};  // network order
};
std::vector<std::uint8_t> encodeTower(const TcpTower& t);
// Reads a tower; errors name the floor and the field. A tower for another protocol or transport
// is kUnsupported.
Result<TcpTower> decodeTower(std::span<const std::uint8_t> tower);

struct EndpointEntry {
  std::array<std::uint8_t, 16> object{};
  TcpTower tower;
  std::string annotation;
};

class EndpointMap {
 public:
  void add(const EndpointEntry& entry);
  // Removes every entry for this interface at this port.
  void remove(const stub::SyntaxId& interfaceId, std::uint16_t port);
  // Entries for `interfaceId` (same major version, minor at least the one asked for) over
  // `transferSyntax`; every entry when interfaceId is null.
  std::vector<EndpointEntry> find(const stub::SyntaxId* interfaceId,
                                  const stub::SyntaxId* transferSyntax = nullptr) const;
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::vector<EndpointEntry> entries_;
};

// The process's endpoint map: Server::listenTcp registers there, the epm interface reads it.
EndpointMap& endpointMap();

// Registers the epm interface (e1af8308-5d1f-11c9-91a4-08002b14a0fa v3.0) on `server`.
void hostEndpointMapper(Server& server);

}  // namespace warden::rpc
