// What the stubs `warden idl --client/--server` generate are built on: the interface
// specification an RPC_IF_HANDLE points to (interface UUID and version, the operations by opnum)
// and, on the server, the manager entry point vector (EPV) the runtime dispatches to. C++; the
// per-operation marshalling code comes with the NDR issue.
#ifndef WARDEN_STUB_H_
#define WARDEN_STUB_H_

#include <cstdint>

#include "warden/rpc.h"

namespace warden::stub {

// An interface or transfer syntax identifier. The UUID's bytes are in the order the text shows
// them (RFC 4122); the wire's little-endian first three fields are the runtime's business.
struct SyntaxId {
  std::uint8_t uuid[16];
  std::uint16_t major;
  std::uint16_t minor;
};

// NDR 2.0: 8a885d04-1ceb-11c9-9fe8-08002b104860 version 2.0, the transfer syntax of every
// interface Warden generates.
inline constexpr SyntaxId kNdr20 = {{0x8a, 0x88, 0x5d, 0x04, 0x1c, 0xeb, 0x11, 0xc9, 0x9f, 0xe8,
                                     0x08, 0x00, 0x2b, 0x10, 0x48, 0x60},
                                    2,
                                    0};

// What <iface>_v<maj>_<min>_c_ifspec and _s_ifspec point to.
struct InterfaceSpec {
  SyntaxId id;
  SyntaxId transferSyntax;
  const char* name;
  std::uint32_t operationCount;
  const char* const* operationNames;  // by opnum
  const void* epv;  // server: the default manager EPV (<iface>_v<maj>_<min>_epv_t); client: null
};

inline const InterfaceSpec& spec(RPC_IF_HANDLE handle) {
  return *static_cast<const InterfaceSpec*>(handle);
}

}  // namespace warden::stub

#endif  // WARDEN_STUB_H_
