// PDUs byte for byte: the bind example of rpc-memory-ndr.md 5.3 (epm over NDR 2.0, as Windows,
// Samba and impacket send it), round trips of every PDU Warden writes, and hostile headers and
// bodies rejected with the field and offset named.
#include "rpc/pdu.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace warden::rpc {
namespace {

using ::testing::HasSubstr;

std::vector<std::byte> fromHex(std::string_view hex) {
  std::vector<std::byte> out;
  for (std::size_t i = 0; i + 1 < hex.size();) {
    if (hex[i] == ' ') {
      ++i;
      continue;
    }
    out.push_back(static_cast<std::byte>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    i += 2;
  }
  return out;
}

std::string toHex(std::span<const std::byte> bytes) {
  std::string out;
  for (std::byte b : bytes) out += fmt::format("{:02x}", std::to_integer<int>(b));
  return out;
}

// e1af8308-5d1f-11c9-91a4-08002b14a0fa v3.0
constexpr stub::SyntaxId kEpm = {{0xe1, 0xaf, 0x83, 0x08, 0x5d, 0x1f, 0x11, 0xc9, 0x91, 0xa4, 0x08,
                                  0x00, 0x2b, 0x14, 0xa0, 0xfa},
                                 3,
                                 0};

constexpr std::string_view kEpmBind =
    "05000b03 10000000 48000000 01000000"  // v5.0 bind, FIRST|LAST, LE, 72 bytes, call 1
    "b810b810 00000000"                    // max_xmit 4280, max_recv 4280, assoc group 0
    "01000000"                             // one context
    "00000100"                             // id 0, one transfer syntax
    "0883afe1 1f5dc911 91a40800 2b14a0fa 03000000"
    "045d888a eb1cc911 9fe80800 2b104860 02000000";

TEST(Pdu, BindMatchesTheReferenceBytesBothWays) {
  Bind b;
  b.contexts.push_back({0, kEpm, {stub::kNdr20}});
  std::vector<std::byte> out;
  writeBind(out, PType::kBind, 1, b);
  EXPECT_EQ(toHex(out), toHex(fromHex(kEpmBind)));

  auto header = parseHeader(out);
  ASSERT_TRUE(header.ok()) << header.status().message();
  EXPECT_EQ(header.value().type, 11);
  EXPECT_EQ(header.value().fragLength, 72);
  auto parsed = parseBind(out, header.value());
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed.value().contexts.size(), 1u);
  EXPECT_TRUE(stub::sameInterface(parsed.value().contexts[0].abstractSyntax, kEpm));
  EXPECT_TRUE(stub::sameInterface(parsed.value().contexts[0].transferSyntaxes[0], stub::kNdr20));
}

TEST(Pdu, BindAckPadsTheSecondaryAddressAndRoundTrips) {
  BindAck a;
  a.maxXmitFrag = a.maxRecvFrag = 4280;
  a.assocGroup = 0x12345;
  a.secondaryAddress = "135";
  a.results.push_back({kAcceptance, 0, stub::kNdr20});
  a.results.push_back({kProviderRejection, kTransferSyntaxesNotSupported, {}});
  a.results.push_back({kNegotiateAck, kKeepConnectionOnOrphan, {}});
  std::vector<std::byte> out;
  writeBindAck(out, PType::kBindAck, 7, a);
  // sec_addr "135\0" ends at offset 30: two bytes of padding before n_results at 32.
  EXPECT_EQ(toHex(std::span(out).subspan(24, 12)),
            "0400"
            "31333500"
            "0000"
            "03000000");
  auto h = parseHeader(out);
  ASSERT_TRUE(h.ok());
  auto back = parseBindAck(out, h.value());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back.value().secondaryAddress, "135");
  EXPECT_EQ(back.value().assocGroup, 0x12345u);
  ASSERT_EQ(back.value().results.size(), 3u);
  EXPECT_EQ(back.value().results[1].reason, kTransferSyntaxesNotSupported);
  EXPECT_EQ(back.value().results[2].result, kNegotiateAck);
}

TEST(Pdu, RequestResponseAndFaultRoundTrip) {
  const std::vector<std::byte> stub = fromHex("0102030405");
  Request q;
  q.allocHint = 5;
  q.contextId = 1;
  q.opnum = 9;
  q.object = std::array<std::uint8_t, 16>{1, 2, 3};
  q.stub = stub;
  std::vector<std::byte> out;
  writeRequest(out, kFirstFrag | kLastFrag, 3, q);
  EXPECT_EQ(out.size(), 24u + 16 + 5);
  auto h = parseHeader(out);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.value().flags, kFirstFrag | kLastFrag | kObjectUuid);
  auto back = parseRequest(out, h.value());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value().opnum, 9);
  EXPECT_EQ((*back.value().object)[2], 3);
  EXPECT_EQ(toHex(back.value().stub), "0102030405");

  out.clear();
  writeFault(out, kDidNotExecute, 3, Fault{1, 0x1C010002});
  auto fh = parseHeader(out);
  ASSERT_TRUE(fh.ok());
  auto fault = parseFault(out, fh.value());
  ASSERT_TRUE(fault.ok());
  EXPECT_EQ(fault.value().status, 0x1C010002u);
  // v5.0 fault, FIRST|LAST|DID_NOT_EXECUTE, 32 bytes, call 3; alloc_hint 0, context 1, status.
  EXPECT_EQ(toHex(out), "0500032310000000200000000300000000000000010000000200011c00000000");
}

TEST(Pdu, AuthTrailerIsNotStubData) {
  // A request whose stub data "aabbccdd" is padded by 4 and followed by an 8-byte sec_trailer
  // (NTLM, packet integrity, pad 4) and a 16-byte auth value.
  auto pdu = fromHex(
      "05000003 10000000 38001000 05000000"
      "04000000 0000 0100"
      "aabbccdd 00000000"
      "0a050400 00000000"
      "01000000 00000000 00000000 00000000");
  auto h = parseHeader(pdu);
  ASSERT_TRUE(h.ok()) << h.status().message();
  auto q = parseRequest(pdu, h.value());
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(toHex(q.value().stub), "aabbccdd");
}

TEST(Pdu, HostileHeadersAndBodiesNameTheField) {
  auto error = [](std::string_view hex) {
    auto pdu = fromHex(hex);
    auto h = parseHeader(pdu);
    if (!h.ok()) return h.status().toString();
    auto b = parseBind(pdu, h.value());
    return b.ok() ? std::string("ok") : b.status().toString();
  };
  EXPECT_THAT(error("05000b03 100000"), HasSubstr("PDU header"));
  EXPECT_THAT(error("04000b03 10000000 48000000 01000000"), HasSubstr("rpc_vers 4.0"));
  EXPECT_THAT(error("05000703 10000000 48000000 01000000"), HasSubstr("PTYPE 7"));
  EXPECT_THAT(error("05000b03 10000000 0c000000 01000000"), HasSubstr("frag_length 12"));
  EXPECT_THAT(error("05000b03 10000000 1c001000 01000000"), HasSubstr("auth_length 16"));
  // A bind that says it has 5 contexts and carries none.
  EXPECT_THAT(error("05000b03 10000000 1c000000 01000000 b810b810 00000000 05000000"),
              HasSubstr("bind context 0 p_cont_id"));
  // frag_length past the bytes there are.
  EXPECT_THAT(error("05000b03 10000000 ff000000 01000000 b810"), HasSubstr("frag_length says 255"));
}

TEST(Pdu, FeatureNegotiationSyntaxIsRecognised) {
  stub::SyntaxId s = {{0x6c, 0xb7, 0x1c, 0x2c, 0x98, 0x12, 0x45, 0x40, 0x03}, 1, 0};
  EXPECT_TRUE(isFeatureNegotiation(s));
  EXPECT_EQ(offeredFeatures(s), 3);
  EXPECT_FALSE(isFeatureNegotiation(stub::kNdr20));
  EXPECT_FALSE(isFeatureNegotiation(kNdr64));
}

}  // namespace
}  // namespace warden::rpc
