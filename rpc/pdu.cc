// Reading and writing connection-oriented PDUs. A UUID on the wire is an NDR GUID: its first three
// fields in the PDU's integer order, the last eight octets as they are.
#include "rpc/pdu.h"

#include <fmt/format.h>

#include <cstring>

#include "base/bytes.h"

namespace warden::rpc {

namespace {

Endian endianOf(const Header& h) {
  return (h.drep[0] & 0xF0) == 0 ? Endian::kBig : Endian::kLittle;
}

Status malformed(const ByteReader& r, std::string_view what) {
  return Status(Code::kMalformed, fmt::format("PDU offset {}: {}", r.position(), what));
}

Result<stub::SyntaxId> readSyntax(ByteReader& r) {
  stub::SyntaxId s{};
  WARDEN_TRY(readUuid(r, s.uuid));
  WARDEN_ASSIGN_OR_RETURN(std::uint32_t version, r.u32());
  s.major = static_cast<std::uint16_t>(version);
  s.minor = static_cast<std::uint16_t>(version >> 16);
  return s;
}

void writeSyntax(ByteWriter& w, const stub::SyntaxId& s) {
  writeUuid(w, s.uuid);
  w.u32(s.major | (std::uint32_t{s.minor} << 16));
}

void writeHeader(ByteWriter& w, PType type, std::uint8_t flags, std::uint32_t callId) {
  w.u8(5);
  w.u8(0);
  w.u8(static_cast<std::uint8_t>(type));
  w.u8(flags);
  w.u32be(0x10000000);  // drep: ASCII, little-endian, IEEE
  w.u16(0);             // frag_length, patched at the end
  w.u16(0);             // auth_length
  w.u32(callId);
}

// Fills in frag_length once the PDU is written.
void finishPdu(ByteWriter& w) { w.patchU16(8, static_cast<std::uint16_t>(w.offset())); }

// The PDU's body: after the 16-byte header, before any auth padding and trailer.
Result<ByteReader> bodyOf(std::span<const std::byte> pdu, const Header& h) {
  std::size_t end = h.fragLength;
  if (pdu.size() < end) {
    return Status(Code::kTruncated,
                  fmt::format("PDU of {} bytes, frag_length says {}", pdu.size(), h.fragLength));
  }
  if (h.authLength != 0) {
    // sec_trailer (8 bytes) then the auth value; auth_pad_length bytes pad the body before it.
    const std::size_t trailer = end - h.authLength - 8;
    const auto padding = std::to_integer<std::size_t>(pdu[trailer + 2]);
    if (trailer < kHeaderSize + padding) {
      return Status(Code::kMalformed,
                    fmt::format("PDU offset {}: auth_pad_length {} reaches into the header",
                                trailer + 2, padding));
    }
    end = trailer - padding;
  }
  ByteReader r(pdu.subspan(0, end), 0, endianOf(h));
  WARDEN_TRY(r.skip(kHeaderSize));
  return r;
}

}  // namespace

std::string_view ptypeName(std::uint8_t type) {
  switch (static_cast<PType>(type)) {
    case PType::kRequest:
      return "request";
    case PType::kResponse:
      return "response";
    case PType::kFault:
      return "fault";
    case PType::kBind:
      return "bind";
    case PType::kBindAck:
      return "bind_ack";
    case PType::kBindNak:
      return "bind_nak";
    case PType::kAlterContext:
      return "alter_context";
    case PType::kAlterContextResp:
      return "alter_context_resp";
    case PType::kAuth3:
      return "auth3";
    case PType::kShutdown:
      return "shutdown";
    case PType::kCoCancel:
      return "co_cancel";
    case PType::kOrphaned:
      return "orphaned";
  }
  return "unknown";
}

Result<Header> parseHeader(std::span<const std::byte> pdu) {
  ByteReader r(pdu);
  Header h;
  WARDEN_ASSIGN_OR_RETURN(std::uint8_t major, r.u8(), << "PDU header");
  WARDEN_ASSIGN_OR_RETURN(h.versionMinor, r.u8(), << "PDU header");
  WARDEN_ASSIGN_OR_RETURN(h.type, r.u8(), << "PDU header");
  WARDEN_ASSIGN_OR_RETURN(h.flags, r.u8(), << "PDU header");
  WARDEN_TRY(r.copyTo(std::as_writable_bytes(std::span(h.drep)))) << "PDU header";
  r.setEndian(endianOf(h));
  WARDEN_ASSIGN_OR_RETURN(h.fragLength, r.u16(), << "PDU header");
  WARDEN_ASSIGN_OR_RETURN(h.authLength, r.u16(), << "PDU header");
  WARDEN_ASSIGN_OR_RETURN(h.callId, r.u32(), << "PDU header");
  if (major != 5 || h.versionMinor > 1) {
    return Status(Code::kUnsupported, fmt::format("PDU offset 0: rpc_vers {}.{} (only 5.0 and 5.1)",
                                                  major, h.versionMinor));
  }
  if (ptypeName(h.type) == "unknown" || h.type == 1 || (h.type >= 4 && h.type <= 10)) {
    return Status(Code::kMalformed,
                  fmt::format("PDU offset 2: PTYPE {} is not a connection-oriented PDU", h.type));
  }
  if (h.fragLength < kHeaderSize) {
    return Status(
        Code::kMalformed,
        fmt::format("PDU offset 8: frag_length {} is shorter than the header", h.fragLength));
  }
  if (h.authLength != 0 && std::size_t{h.authLength} + 8 + kHeaderSize > h.fragLength) {
    return Status(Code::kMalformed,
                  fmt::format("PDU offset 10: auth_length {} does not fit frag_length {}",
                              h.authLength, h.fragLength));
  }
  return h;
}

Result<Bind> parseBind(std::span<const std::byte> pdu, const Header& h) {
  WARDEN_ASSIGN_OR_RETURN(ByteReader r, bodyOf(pdu, h));
  Bind b;
  WARDEN_ASSIGN_OR_RETURN(b.maxXmitFrag, r.u16(), << "bind max_xmit_frag");
  WARDEN_ASSIGN_OR_RETURN(b.maxRecvFrag, r.u16(), << "bind max_recv_frag");
  WARDEN_ASSIGN_OR_RETURN(b.assocGroup, r.u32(), << "bind assoc_group_id");
  WARDEN_ASSIGN_OR_RETURN(std::uint8_t n, r.u8(), << "bind n_context_elem");
  WARDEN_TRY(r.skip(3)) << "bind n_context_elem";
  for (std::uint8_t i = 0; i < n; ++i) {
    ContextElement c;
    WARDEN_ASSIGN_OR_RETURN(c.id, r.u16(), << "bind context " << int{i} << " p_cont_id");
    WARDEN_ASSIGN_OR_RETURN(std::uint8_t syntaxes, r.u8(),
                            << "bind context " << int{i} << " n_transfer_syn");
    WARDEN_TRY(r.skip(1)) << "bind context " << int{i};
    WARDEN_ASSIGN_OR_RETURN(c.abstractSyntax, readSyntax(r),
                            << "bind context " << int{i} << " abstract_syntax");
    if (syntaxes == 0) return malformed(r, fmt::format("bind context {}: no transfer syntax", i));
    for (std::uint8_t k = 0; k < syntaxes; ++k) {
      WARDEN_ASSIGN_OR_RETURN(stub::SyntaxId t, readSyntax(r),
                              << "bind context " << int{i} << " transfer_syntax " << int{k});
      c.transferSyntaxes.push_back(t);
    }
    b.contexts.push_back(std::move(c));
  }
  return b;
}

Result<BindAck> parseBindAck(std::span<const std::byte> pdu, const Header& h) {
  WARDEN_ASSIGN_OR_RETURN(ByteReader r, bodyOf(pdu, h));
  BindAck a;
  WARDEN_ASSIGN_OR_RETURN(a.maxXmitFrag, r.u16(), << "bind_ack max_xmit_frag");
  WARDEN_ASSIGN_OR_RETURN(a.maxRecvFrag, r.u16(), << "bind_ack max_recv_frag");
  WARDEN_ASSIGN_OR_RETURN(a.assocGroup, r.u32(), << "bind_ack assoc_group_id");
  WARDEN_ASSIGN_OR_RETURN(std::uint16_t length, r.u16(), << "bind_ack sec_addr_len");
  WARDEN_ASSIGN_OR_RETURN(auto address, r.bytes(length), << "bind_ack sec_addr");
  a.secondaryAddress.assign(reinterpret_cast<const char*>(address.data()), address.size());
  if (!a.secondaryAddress.empty() && a.secondaryAddress.back() == '\0') {
    a.secondaryAddress.pop_back();
  }
  WARDEN_TRY(r.alignTo(4)) << "bind_ack padding";
  WARDEN_ASSIGN_OR_RETURN(std::uint8_t n, r.u8(), << "bind_ack n_results");
  WARDEN_TRY(r.skip(3)) << "bind_ack n_results";
  for (std::uint8_t i = 0; i < n; ++i) {
    ContextResult c;
    WARDEN_ASSIGN_OR_RETURN(c.result, r.u16(), << "bind_ack result " << int{i});
    WARDEN_ASSIGN_OR_RETURN(c.reason, r.u16(), << "bind_ack result " << int{i} << " reason");
    WARDEN_ASSIGN_OR_RETURN(c.transferSyntax, readSyntax(r),
                            << "bind_ack result " << int{i} << " transfer_syntax");
    a.results.push_back(c);
  }
  return a;
}

Result<std::uint16_t> parseBindNak(std::span<const std::byte> pdu, const Header& h) {
  WARDEN_ASSIGN_OR_RETURN(ByteReader r, bodyOf(pdu, h));
  WARDEN_ASSIGN_OR_RETURN(std::uint16_t reason, r.u16(), << "bind_nak provider_reject_reason");
  return reason;
}

Result<Request> parseRequest(std::span<const std::byte> pdu, const Header& h) {
  WARDEN_ASSIGN_OR_RETURN(ByteReader r, bodyOf(pdu, h));
  Request q;
  WARDEN_ASSIGN_OR_RETURN(q.allocHint, r.u32(), << "request alloc_hint");
  WARDEN_ASSIGN_OR_RETURN(q.contextId, r.u16(), << "request p_cont_id");
  WARDEN_ASSIGN_OR_RETURN(q.opnum, r.u16(), << "request opnum");
  if (h.flags & kObjectUuid) {
    std::array<std::uint8_t, 16> object{};
    WARDEN_TRY(r.copyTo(std::as_writable_bytes(std::span(object)))) << "request object UUID";
    q.object = object;
  }
  q.stub = r.rest();
  return q;
}

Result<Response> parseResponse(std::span<const std::byte> pdu, const Header& h) {
  WARDEN_ASSIGN_OR_RETURN(ByteReader r, bodyOf(pdu, h));
  Response p;
  WARDEN_ASSIGN_OR_RETURN(p.allocHint, r.u32(), << "response alloc_hint");
  WARDEN_ASSIGN_OR_RETURN(p.contextId, r.u16(), << "response p_cont_id");
  WARDEN_ASSIGN_OR_RETURN(p.cancelCount, r.u8(), << "response cancel_count");
  WARDEN_TRY(r.skip(1)) << "response reserved";
  p.stub = r.rest();
  return p;
}

Result<Fault> parseFault(std::span<const std::byte> pdu, const Header& h) {
  WARDEN_ASSIGN_OR_RETURN(ByteReader r, bodyOf(pdu, h));
  Fault f;
  WARDEN_TRY(r.skip(4)) << "fault alloc_hint";
  WARDEN_ASSIGN_OR_RETURN(f.contextId, r.u16(), << "fault p_cont_id");
  WARDEN_TRY(r.skip(2)) << "fault cancel_count";
  WARDEN_ASSIGN_OR_RETURN(f.status, r.u32(), << "fault status");
  return f;
}

void writeBind(std::vector<std::byte>& out, PType type, std::uint32_t callId, const Bind& bind,
               std::uint8_t flags) {
  ByteWriter w(out);
  writeHeader(w, type, kFirstFrag | kLastFrag | flags, callId);
  w.u16(bind.maxXmitFrag);
  w.u16(bind.maxRecvFrag);
  w.u32(bind.assocGroup);
  w.u8(static_cast<std::uint8_t>(bind.contexts.size()));
  w.zeros(3);
  for (const ContextElement& c : bind.contexts) {
    w.u16(c.id);
    w.u8(static_cast<std::uint8_t>(c.transferSyntaxes.size()));
    w.u8(0);
    writeSyntax(w, c.abstractSyntax);
    for (const stub::SyntaxId& t : c.transferSyntaxes) writeSyntax(w, t);
  }
  finishPdu(w);
}

void writeBindAck(std::vector<std::byte>& out, PType type, std::uint32_t callId, const BindAck& ack,
                  std::uint8_t flags) {
  ByteWriter w(out);
  writeHeader(w, type, kFirstFrag | kLastFrag | flags, callId);
  w.u16(ack.maxXmitFrag);
  w.u16(ack.maxRecvFrag);
  w.u32(ack.assocGroup);
  if (ack.secondaryAddress.empty()) {
    w.u16(0);
  } else {
    w.u16(static_cast<std::uint16_t>(ack.secondaryAddress.size() + 1));
    w.bytes(ack.secondaryAddress);
    w.u8(0);
  }
  w.alignTo(4);
  w.u8(static_cast<std::uint8_t>(ack.results.size()));
  w.zeros(3);
  for (const ContextResult& c : ack.results) {
    w.u16(c.result);
    w.u16(c.reason);
    writeSyntax(w, c.transferSyntax);
  }
  finishPdu(w);
}

void writeBindNak(std::vector<std::byte>& out, std::uint32_t callId, std::uint16_t reason) {
  ByteWriter w(out);
  writeHeader(w, PType::kBindNak, kFirstFrag | kLastFrag, callId);
  w.u16(reason);
  w.u8(1);  // one protocol version supported: 5.0
  w.u8(5);
  w.u8(0);
  w.alignTo(4);
  finishPdu(w);
}

void writeRequest(std::vector<std::byte>& out, std::uint8_t flags, std::uint32_t callId,
                  const Request& request) {
  ByteWriter w(out);
  writeHeader(w, PType::kRequest, flags | (request.object ? kObjectUuid : 0), callId);
  w.u32(request.allocHint);
  w.u16(request.contextId);
  w.u16(request.opnum);
  if (request.object) w.bytes(std::as_bytes(std::span(*request.object)));
  w.bytes(request.stub);
  finishPdu(w);
}

void writeResponse(std::vector<std::byte>& out, std::uint8_t flags, std::uint32_t callId,
                   const Response& response) {
  ByteWriter w(out);
  writeHeader(w, PType::kResponse, flags, callId);
  w.u32(response.allocHint);
  w.u16(response.contextId);
  w.u8(response.cancelCount);
  w.u8(0);
  w.bytes(response.stub);
  finishPdu(w);
}

void writeFault(std::vector<std::byte>& out, std::uint8_t flags, std::uint32_t callId,
                const Fault& fault) {
  ByteWriter w(out);
  writeHeader(w, PType::kFault, flags | kFirstFrag | kLastFrag, callId);
  w.u32(0);  // alloc_hint
  w.u16(fault.contextId);
  w.u8(0);  // cancel_count
  w.u8(0);
  w.u32(fault.status);
  w.u32(0);  // reserved
  finishPdu(w);
}

void writeHeaderOnly(std::vector<std::byte>& out, PType type, std::uint8_t flags,
                     std::uint32_t callId) {
  ByteWriter w(out);
  writeHeader(w, type, flags, callId);
  finishPdu(w);
}

Status readUuid(ByteReader& r, std::uint8_t (&uuid)[16]) {
  WARDEN_ASSIGN_OR_RETURN(std::uint32_t timeLow, r.u32());
  WARDEN_ASSIGN_OR_RETURN(std::uint16_t timeMid, r.u16());
  WARDEN_ASSIGN_OR_RETURN(std::uint16_t timeHi, r.u16());
  std::uint8_t tail[8];
  WARDEN_TRY(r.copyTo(std::as_writable_bytes(std::span(tail))));
  uuidFromFields(timeLow, timeMid, timeHi, tail, uuid);
  return {};
}

void writeUuid(ByteWriter& w, const std::uint8_t (&uuid)[16]) {
  w.u32((std::uint32_t{uuid[0]} << 24) | (std::uint32_t{uuid[1]} << 16) |
        (std::uint32_t{uuid[2]} << 8) | uuid[3]);
  w.u16(static_cast<std::uint16_t>((uuid[4] << 8) | uuid[5]));
  w.u16(static_cast<std::uint16_t>((uuid[6] << 8) | uuid[7]));
  w.bytes(std::as_bytes(std::span(uuid + 8, 8)));
}

void uuidFromFields(std::uint32_t timeLow, std::uint16_t timeMid, std::uint16_t timeHiAndVersion,
                    const std::uint8_t* clockSeqAndNode, std::uint8_t (&uuid)[16]) {
  for (int i = 0; i < 4; ++i) uuid[i] = static_cast<std::uint8_t>(timeLow >> (24 - 8 * i));
  uuid[4] = static_cast<std::uint8_t>(timeMid >> 8);
  uuid[5] = static_cast<std::uint8_t>(timeMid);
  uuid[6] = static_cast<std::uint8_t>(timeHiAndVersion >> 8);
  uuid[7] = static_cast<std::uint8_t>(timeHiAndVersion);
  std::memcpy(uuid + 8, clockSeqAndNode, 8);
}

bool isFeatureNegotiation(const stub::SyntaxId& s) {
  static constexpr std::uint8_t kPrefix[8] = {0x6c, 0xb7, 0x1c, 0x2c, 0x98, 0x12, 0x45, 0x40};
  return std::memcmp(s.uuid, kPrefix, sizeof kPrefix) == 0 && s.major == 1 && s.minor == 0;
}

std::uint8_t offeredFeatures(const stub::SyntaxId& s) { return s.uuid[8]; }

}  // namespace warden::rpc
