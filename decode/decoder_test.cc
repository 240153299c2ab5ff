// Decoder unit tests on hand-built frames: each layer, truncation at every byte, and the field
// table's names and values.
#include "decode/decoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <tuple>
#include <vector>

#include "decode/fields.h"

namespace warden::decode {
namespace {

std::vector<std::byte> hex(std::string_view text) {
  std::vector<std::byte> out;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (std::size_t i = 0; i + 1 < text.size();) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    out.push_back(static_cast<std::byte>(nibble(text[i]) * 16 + nibble(text[i + 1])));
    i += 2;
  }
  return out;
}

// Ethernet / 802.1Q / IPv4 / TCP SYN with MSS, SACK-permitted, timestamps and window scale.
const char* kVlanTcpSyn =
    "001122334455 66778899aabb 8100 0064 0800 "
    "4500003c 1c46 4000 4006 0000 0a000001 0a000002 "
    "d431 0050 00000064 00000000 a002 faf0 0000 0000 "
    "020405b4 0402 080a 00001000 00000000 01 030307";

std::string field(const DecodedFrame& d, std::string_view name) {
  FieldValue v[2];
  const FieldDef* def = findField(name);
  EXPECT_NE(def, nullptr) << name;
  return def && def->get(d, v) ? v[0].toString() : "";
}

TEST(Decoder, VlanTaggedTcpSynWithOptions) {
  auto frame = hex(kVlanTcpSyn);
  DecodedFrame d;
  decodeFrame(frame, 1, 78, d);
  EXPECT_FALSE(d.malformed.present) << d.malformed.reason;
  EXPECT_EQ(d.protocols(), "eth:vlan:ip:tcp");
  EXPECT_EQ(field(d, "eth.src"), "66:77:88:99:aa:bb");
  EXPECT_EQ(field(d, "vlan.id"), "100");
  EXPECT_EQ(field(d, "ip.src"), "10.0.0.1");
  EXPECT_EQ(field(d, "ip.dst"), "10.0.0.2");
  EXPECT_EQ(field(d, "ip.flags.df"), "1");
  EXPECT_EQ(field(d, "tcp.srcport"), "54321");
  EXPECT_EQ(field(d, "tcp.dstport"), "80");
  EXPECT_EQ(field(d, "tcp.seq"), "100");
  EXPECT_EQ(field(d, "tcp.flags.syn"), "1");
  EXPECT_EQ(field(d, "tcp.flags.ack"), "0");
  EXPECT_EQ(field(d, "tcp.ack"), "") << "no ACK flag: no acknowledgment number";
  EXPECT_EQ(field(d, "tcp.len"), "0");
  EXPECT_EQ(field(d, "tcp.hdr_len"), "40");
  EXPECT_EQ(field(d, "tcp.window_size_value"), "64240");
  EXPECT_EQ(field(d, "tcp.options.mss_val"), "1460");
  EXPECT_EQ(field(d, "tcp.options.sack_perm"), "1");
  EXPECT_EQ(field(d, "tcp.options.timestamp.tsval"), "4096");
  EXPECT_EQ(field(d, "tcp.options.wscale.shift"), "7");
  FieldValue v[2];
  EXPECT_EQ(findField("ip.addr")->get(d, v), 2);
  EXPECT_EQ(v[1].toString(), "10.0.0.2");
  EXPECT_EQ(findField("udp.srcport")->get(d, v), 0);
  EXPECT_EQ(findField("no.such.field"), nullptr);
}

// The IPv4 header checksum (RFC 1071): a header whose checksum is right, the same with one bit
// changed, and one with 4 bytes of options (an odd number of 16-bit words per 32-bit one).
TEST(Decoder, Ipv4HeaderChecksum) {
  constexpr std::uint16_t kLinkRaw = 101;  // LINKTYPE_RAW: the frame is the IP packet
  DecodedFrame d;
  auto good = hex("45000073 00004000 4011b861 c0a80001 c0a800c7");
  decodeFrame(good, kLinkRaw, static_cast<std::uint32_t>(good.size()), d);
  EXPECT_TRUE(d.ipv4.present);
  EXPECT_TRUE(d.ipv4.checksumGood);
  good[12] ^= std::byte{1};
  decodeFrame(good, kLinkRaw, static_cast<std::uint32_t>(good.size()), d);
  EXPECT_FALSE(d.ipv4.checksumGood);
  // IHL 6 with a router-alert option, its checksum computed here over all 24 bytes.
  auto options = hex("46000018 00000000 01020000 0a000001 0a000002 94040000");
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < options.size(); i += 2)
    sum += static_cast<std::uint32_t>(options[i]) << 8 | static_cast<std::uint32_t>(options[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  options[10] = static_cast<std::byte>((~sum >> 8) & 0xff);
  options[11] = static_cast<std::byte>(~sum & 0xff);
  decodeFrame(options, kLinkRaw, static_cast<std::uint32_t>(options.size()), d);
  EXPECT_TRUE(d.ipv4.checksumGood);
}

TEST(Decoder, EveryTruncationIsMarkedNeverReadPastTheEnd) {
  auto frame = hex(kVlanTcpSyn);
  for (std::size_t n = 0; n < frame.size(); ++n) {
    // A copy of exactly n bytes, so ASan sees any read past it.
    std::vector<std::byte> cut(frame.begin(), frame.begin() + static_cast<long>(n));
    DecodedFrame d;
    decodeFrame(cut, 1, 78, d);
    EXPECT_TRUE(d.malformed.present) << n << " bytes";
    EXPECT_LE(d.malformed.offset, n);
  }
}

TEST(Decoder, Ipv6WithExtensionHeadersToUdpDns) {
  // IPv6, hop-by-hop (8 bytes), destination options (8), UDP 53 with a query for example.com.
  auto frame =
      hex("60000000 0031 00 40 20010db8000000000000000000000001 20010db8000000000000000000000002 "
          "3c00 0000 00000000 "
          "1100 0000 00000000 "
          "c350 0035 0021 0000 "
          "abcd 0100 0001 0000 0000 0000 076578616d706c6503636f6d00 0001 0001");
  DecodedFrame d;
  decodeFrame(frame, 229, static_cast<std::uint32_t>(frame.size()), d);
  EXPECT_FALSE(d.malformed.present) << d.malformed.reason;
  EXPECT_EQ(d.protocols(), "ipv6:udp:dns");
  EXPECT_EQ(field(d, "ipv6.src"), "2001:db8::1");
  EXPECT_EQ(field(d, "ipv6.nxt"), "17");
  EXPECT_EQ(field(d, "udp.dstport"), "53");
  EXPECT_EQ(field(d, "dns.id"), "0xabcd");
  EXPECT_EQ(field(d, "dns.qry.name"), "example.com");
  EXPECT_EQ(field(d, "dns.flags.response"), "0");
}

TEST(Decoder, NonFirstFragmentHasNoTransportHeader) {
  auto frame = hex("45000020 0001 00b9 4011 0000 c0a80001 c0a80002 0102030405060708 090a0b0c");
  DecodedFrame d;
  decodeFrame(frame, 228, 32, d);
  EXPECT_EQ(d.protocols(), "ip:data");
  EXPECT_EQ(field(d, "ip.frag_offset"), "1480");
  EXPECT_EQ(field(d, "udp.srcport"), "");
  EXPECT_TRUE(d.ipFragment());
}

TEST(Decoder, LinuxCookedLoopbackAndUnknownLinkTypes) {
  // SLL: 16 bytes ending in protocol 0x0800, then an IPv4/ICMP echo.
  auto sll =
      hex("0000 0304 0006 000000000000 0000 0800 45000020 0000 0000 4001 0000 7f000001 7f000001 "
          "0800f7ff 00000000 00000000 00000000");
  DecodedFrame d;
  decodeFrame(sll, 113, static_cast<std::uint32_t>(sll.size()), d);
  EXPECT_EQ(d.protocols(), "sll:ip:icmp");
  EXPECT_EQ(field(d, "icmp.type"), "8");
  auto null = hex("02000000 45000014 0000 0000 40ff 0000 7f000001 7f000001");
  decodeFrame(null, 0, static_cast<std::uint32_t>(null.size()), d);
  EXPECT_EQ(d.protocols(), "null:ip")
      << "host-order family 2 is IPv4; an empty payload adds no layer";
  decodeFrame(null, 4242, static_cast<std::uint32_t>(null.size()), d);
  EXPECT_EQ(d.protocols(), "data");
}

// Found by fuzz_pcap: a TLV whose padding runs past the frame made the loop read beyond it.
TEST(Decoder, NflogTlvPaddingPastTheFrameStopsCleanly) {
  auto frame = hex("02000000 0500 0100 41");  // one 5-byte TLV, padded to 8 past a 9-byte frame
  DecodedFrame d;
  decodeFrame(frame, 239, static_cast<std::uint32_t>(frame.size()), d);
  EXPECT_EQ(d.protocols(), "nflog");
}

TEST(Decoder, BadIpv4HeaderLengthIsMalformedAtItsOffset) {
  auto frame = hex("001122334455 66778899aabb 0800 4f000014 0000 0000 4006 0000 0a000001 0a000002");
  DecodedFrame d;
  decodeFrame(frame, 1, static_cast<std::uint32_t>(frame.size()), d);
  EXPECT_TRUE(d.malformed.present);
  EXPECT_EQ(d.malformed.layer, Layer::kIpv4);
  EXPECT_EQ(d.malformed.offset, 14u);
  EXPECT_STREQ(d.malformed.reason, "IPv4 options run past the frame");
}

// Addresses order as (family, bytes) lexicographically, as the defaulted comparison did: map keys
// and the order of reports depend on it. Bytes at the edges of each 64-bit word included.
TEST(Address, OrdersAsFamilyThenBytes) {
  const std::uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
  std::vector<Address> all;
  for (std::uint8_t family : {4, 6}) {
    for (std::size_t at : {0, 3, 7, 8, 12, 15}) {
      for (std::uint8_t v : values) {
        Address a;
        a.family = family;
        a.bytes.fill(0x80);
        a.bytes[at] = v;
        all.push_back(a);
      }
    }
  }
  for (const Address& a : all) {
    for (const Address& b : all) {
      auto expected = std::tie(a.family, a.bytes) <=> std::tie(b.family, b.bytes);
      EXPECT_EQ(a <=> b, expected);
      EXPECT_EQ(a == b, expected == 0);
    }
  }
}

TEST(Decoder, LayerNamesAreWiresharks) {
  const std::pair<Layer, std::string_view> expected[] = {
      {Layer::kEthernet, "eth"},  {Layer::kVlan, "vlan"}, {Layer::kSll, "sll"},
      {Layer::kSll2, "sll"},      {Layer::kNull, "null"}, {Layer::kNflog, "nflog"},
      {Layer::kPppoe, "pppoes"},  {Layer::kPpp, "ppp"},   {Layer::kL2tp, "l2tp"},
      {Layer::kArp, "arp"},       {Layer::kIpv4, "ip"},   {Layer::kIpv6, "ipv6"},
      {Layer::kTcp, "tcp"},       {Layer::kUdp, "udp"},   {Layer::kIcmp, "icmp"},
      {Layer::kIcmpv6, "icmpv6"}, {Layer::kDns, "dns"},   {Layer::kHttp, "http"},
      {Layer::kNbss, "nbss"},     {Layer::kSmb, "smb"},   {Layer::kSmb2, "smb2"},
      {Layer::kDcerpc, "dcerpc"}, {Layer::kData, "data"}};
  for (auto [layer, name] : expected) EXPECT_EQ(layerName(layer), name);
}

TEST(Decoder, IcmpErrorQuotesAreDecodedAsInnerPackets) {
  // ICMP port unreachable quoting an IPv4/UDP header (ports 53 -> 32623).
  auto frame =
      hex("45000038 0000 0000 4001 0000 0a000002 0a000001 "
          "0303 0000 00000000 "
          "4500001c 1234 0000 4011 0000 0a000001 0a000002 0035 7f6f 0008 0000");
  DecodedFrame d;
  decodeFrame(frame, 228, static_cast<std::uint32_t>(frame.size()), d);
  EXPECT_EQ(d.protocols(), "ip:icmp:ip:udp");
  EXPECT_EQ(field(d, "ip.src"), "10.0.0.2") << "first occurrence: the outer header";
  EXPECT_EQ(field(d, "udp.srcport"), "53");
  EXPECT_EQ(d.transport, Layer::kIcmp);
  EXPECT_EQ(d.srcPort(), 0) << "the frame's own transport is ICMP";
}

TEST(Fields, EveryNameIsUniqueAndDescribed) {
  std::set<std::string_view> names;
  for (const FieldDef& f : allFields()) {
    EXPECT_TRUE(names.insert(f.name).second) << f.name;
    EXPECT_FALSE(f.description.empty()) << f.name;
  }
  EXPECT_GE(names.size(), 50u);
}

}  // namespace
}  // namespace warden::decode
