// Connection-oriented DCE/RPC 5.0 PDUs (C706 chapter 12, MS-RPCE 2.2.2): the 16-byte common
// header, bind / bind_ack / bind_nak / alter_context(_resp), request / response / fault and the
// header-only shutdown / co_cancel / orphaned. Parsing checks every count and length against the
// PDU and names the field and offset that fail; writing produces little-endian PDUs (drep
// 10 00 00 00) with frag_length filled in. Authentication is not implemented: a trailer is found
// and stepped over, so stub data never includes it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "warden/stub.h"

namespace warden::rpc {

enum class PType : std::uint8_t {
  kRequest = 0,
  kResponse = 2,
  kFault = 3,
  kBind = 11,
  kBindAck = 12,
  kBindNak = 13,
  kAlterContext = 14,
  kAlterContextResp = 15,
  kAuth3 = 16,
  kShutdown = 17,
  kCoCancel = 18,
  kOrphaned = 19,
};
std::string_view ptypeName(std::uint8_t type);

// pfc_flags.
inline constexpr std::uint8_t kFirstFrag = 0x01;
inline constexpr std::uint8_t kLastFrag = 0x02;
inline constexpr std::uint8_t kConcMpx = 0x10;
inline constexpr std::uint8_t kDidNotExecute = 0x20;
inline constexpr std::uint8_t kObjectUuid = 0x80;

inline constexpr std::size_t kHeaderSize = 16;
inline constexpr std::size_t kRequestHeaderSize = 24;  // and response: the stub data follows

// Fault statuses the runtime itself raises (C706 appendix E).
inline constexpr std::uint32_t kNcaUnknownInterface = 0x1C010003;  // nca_s_unk_if
inline constexpr std::uint32_t kNcaProtocolError = 0x1C01000B;     // nca_s_proto_error
inline constexpr std::uint32_t kNcaUnsupportedType = 0x1C010017;   // nca_s_unsupported_type

// bind_ack results and reasons; bind_nak reasons.
inline constexpr std::uint16_t kAcceptance = 0;
inline constexpr std::uint16_t kProviderRejection = 2;
inline constexpr std::uint16_t kNegotiateAck = 3;  // MS-RPCE bind-time feature negotiation
inline constexpr std::uint16_t kAbstractSyntaxNotSupported = 1;
inline constexpr std::uint16_t kTransferSyntaxesNotSupported = 2;
inline constexpr std::uint16_t kNakNotSpecified = 0;
inline constexpr std::uint16_t kNakProtocolVersionNotSupported = 4;
inline constexpr std::uint16_t kNakAuthenticationTypeNotRecognized = 8;

struct Header {
  std::uint8_t versionMinor = 0;
  std::uint8_t type = 0;
  std::uint8_t flags = 0;
  std::array<std::uint8_t, 4> drep = {0x10, 0, 0, 0};
  std::uint16_t fragLength = 0;
  std::uint16_t authLength = 0;
  std::uint32_t callId = 0;
  // ASCII characters, IEEE floats and little-endian integers: what Warden's NDR reads.
  bool nativeDataRepresentation() const { return drep[0] == 0x10 && drep[1] == 0; }
};

// The header at the start of `pdu` (16 bytes or more): version 5.0, a connection-oriented type,
// frag_length of at least 16 and room for the auth trailer. Integers in the order drep gives.
Result<Header> parseHeader(std::span<const std::byte> pdu);

struct ContextElement {
  std::uint16_t id = 0;
  stub::SyntaxId abstractSyntax{};
  std::vector<stub::SyntaxId> transferSyntaxes;
};

// bind and alter_context.
struct Bind {
  std::uint16_t maxXmitFrag = 4280;
  std::uint16_t maxRecvFrag = 4280;
  std::uint32_t assocGroup = 0;
  std::vector<ContextElement> contexts;
};

struct ContextResult {
  std::uint16_t result = kAcceptance;
  std::uint16_t reason = 0;
  stub::SyntaxId transferSyntax{};
};

// bind_ack and alter_context_resp.
struct BindAck {
  std::uint16_t maxXmitFrag = 0;
  std::uint16_t maxRecvFrag = 0;
  std::uint32_t assocGroup = 0;
  std::string secondaryAddress;  // without its terminating NUL; empty sends length 0
  std::vector<ContextResult> results;
};

struct Request {
  std::uint32_t allocHint = 0;
  std::uint16_t contextId = 0;
  std::uint16_t opnum = 0;
  std::optional<std::array<std::uint8_t, 16>> object;
  std::span<const std::byte> stub;
};

struct Response {
  std::uint32_t allocHint = 0;
  std::uint16_t contextId = 0;
  std::uint8_t cancelCount = 0;
  std::span<const std::byte> stub;
};

struct Fault {
  std::uint16_t contextId = 0;
  std::uint32_t status = 0;
};

// Bodies of whole PDUs (`pdu` is frag_length bytes and `h` its parsed header).
Result<Bind> parseBind(std::span<const std::byte> pdu, const Header& h);
Result<BindAck> parseBindAck(std::span<const std::byte> pdu, const Header& h);
Result<std::uint16_t> parseBindNak(std::span<const std::byte> pdu, const Header& h);
Result<Request> parseRequest(std::span<const std::byte> pdu, const Header& h);
Result<Response> parseResponse(std::span<const std::byte> pdu, const Header& h);
Result<Fault> parseFault(std::span<const std::byte> pdu, const Header& h);

// Writers append one whole PDU to `out`.
void writeBind(std::vector<std::byte>& out, PType type, std::uint32_t callId, const Bind& bind,
               std::uint8_t flags = 0);
// `flags` beyond FIRST|LAST: PFC_CONC_MPX when the server multiplexes calls.
void writeBindAck(std::vector<std::byte>& out, PType type, std::uint32_t callId, const BindAck& ack,
                  std::uint8_t flags = 0);
void writeBindNak(std::vector<std::byte>& out, std::uint32_t callId, std::uint16_t reason);
void writeRequest(std::vector<std::byte>& out, std::uint8_t flags, std::uint32_t callId,
                  const Request& request);
void writeResponse(std::vector<std::byte>& out, std::uint8_t flags, std::uint32_t callId,
                   const Response& response);
void writeFault(std::vector<std::byte>& out, std::uint8_t flags, std::uint32_t callId,
                const Fault& fault);
// shutdown, co_cancel, orphaned: the header alone.
void writeHeaderOnly(std::vector<std::byte>& out, PType type, std::uint8_t flags,
                     std::uint32_t callId);

// The NDR transfer syntaxes and MS-RPCE's bind-time feature negotiation pseudo-syntax
// (6cb71c2c-9812-4540-XXXX-XXXXXXXXXXXX v1.0, the last 8 octets a feature bitmask).
inline constexpr stub::SyntaxId kNdr64 = {{0x71, 0x71, 0x05, 0x33, 0xbe, 0xba, 0x49, 0x37, 0x83,
                                           0x19, 0xb5, 0xdb, 0xef, 0x9c, 0xcc, 0x36},
                                          1,
                                          0};
bool isFeatureNegotiation(const stub::SyntaxId& s);

// UUIDs as NDR carries them (in PDUs, towers, stub data): time_low, time_mid and
// time_hi_and_version as integers in the byte order of `r`/`w`, then clock_seq and node as they
// are. `uuid` is in the order the text shows (stub::SyntaxId's).
Status readUuid(ByteReader& r, std::uint8_t (&uuid)[16]);
void writeUuid(ByteWriter& w, const std::uint8_t (&uuid)[16]);
void uuidFromFields(std::uint32_t timeLow, std::uint16_t timeMid, std::uint16_t timeHiAndVersion,
                    const std::uint8_t* clockSeqAndNode, std::uint8_t (&uuid)[16]);
// The feature bits a negotiation syntax offers (its ninth octet: 0x01 security context
// multiplexing, 0x02 keep connection on orphan).
std::uint8_t offeredFeatures(const stub::SyntaxId& s);
inline constexpr std::uint8_t kKeepConnectionOnOrphan = 0x02;

}  // namespace warden::rpc
