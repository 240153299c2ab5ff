// Frame decoding: link layer -> network -> transport -> application recognition, in one pass over
// the frame's bytes, with no allocation. Decoding never fails: a truncated or malformed layer is
// recorded (which layer, at which offset, why) and decoding of that frame stops there.
#pragma once

#include <array>
#include <bit>
#include <compare>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace warden::decode {

// Layers, named as Wireshark names its protocols (layerName()).
enum class Layer : std::uint8_t {
  kEthernet,
  kVlan,
  kSll,
  kSll2,
  kNull,
  kNflog,
  kPppoe,
  kPpp,
  kL2tp,
  kArp,
  kIpv4,
  kIpv6,
  kTcp,
  kUdp,
  kIcmp,
  kIcmpv6,
  kDns,
  kHttp,
  kNbss,
  kSmb,
  kSmb2,
  kDcerpc,
  kData,
};
std::string_view layerName(Layer layer);

struct Address {
  std::uint8_t family = 0;  // 0 none, 4, 6
  std::array<std::uint8_t, 16> bytes{};
  // Ordered as the defaulted comparison would order them (family, then the bytes
  // lexicographically), by two 64-bit words instead of a memcmp: flows and streams are found by
  // address pairs for every frame.
  std::strong_ordering operator<=>(const Address& other) const {
    if (family != other.family) return family <=> other.family;
    for (std::size_t half = 0; half < 2; ++half) {
      std::uint64_t a = word(half), b = other.word(half);
      if (a != b) return a <=> b;
    }
    return std::strong_ordering::equal;
  }
  bool operator==(const Address& other) const {
    return family == other.family && word(0) == other.word(0) && word(1) == other.word(1);
  }
  std::string toString() const;  // 10.0.0.1 / 2001:db8::1 (RFC 5952)

 private:
  // Bytes [8 * half, 8 * half + 8) as a number that orders as they do.
  std::uint64_t word(std::size_t half) const {
    std::uint64_t w;
    std::memcpy(&w, bytes.data() + 8 * half, 8);
    return std::endian::native == std::endian::little ? __builtin_bswap64(w) : w;
  }
};
using Mac = std::array<std::uint8_t, 6>;
std::string macToString(const Mac& mac);

struct LayerSpan {
  Layer layer;
  std::uint32_t offset;  // from the start of the frame
  std::uint32_t length;  // header (and for application layers, the payload) bytes in the frame
};

struct Malformed {
  bool present = false;
  Layer layer = Layer::kData;
  std::uint32_t offset = 0;
  const char* reason = "";  // static text
};

// Per-protocol fields, each filled by the first layer of that protocol in the frame (Wireshark's
// "first occurrence"): with IPv6 inside IPv4, ip.* are the outer header's and ipv6.* the inner's.
struct Ipv4Fields {
  bool present = false;
  Address src, dst;
  std::uint8_t proto = 0;
  std::uint8_t ttl = 0;
  std::uint16_t totalLength = 0;
  std::uint16_t id = 0;
  std::uint16_t fragmentOffset = 0;  // in bytes
  bool moreFragments = false;
  bool dontFragment = false;
  bool checksumGood = false;
};
struct Ipv6Fields {
  bool present = false;
  Address src, dst;
  std::uint8_t next = 0;  // upper-layer protocol after extension headers
  std::uint8_t hopLimit = 0;
  std::uint16_t payloadLength = 0;
  bool fragment = false;
  std::uint32_t fragmentId = 0;
  std::uint16_t fragmentOffset = 0;
  bool moreFragments = false;
};
struct TcpFields {
  bool present = false;
  std::uint16_t srcPort = 0, dstPort = 0;
  std::uint32_t seq = 0, ack = 0;
  std::uint16_t flags = 0;  // FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE CWR
  std::uint16_t window = 0;
  std::uint8_t headerLength = 0;
  std::uint32_t len = 0;  // payload length by the IP length, as tshark's tcp.len
  std::uint16_t mss = 0;
  std::int16_t windowScale = -1;
  bool sackPermitted = false;
  bool hasTimestamps = false;
  std::uint32_t tsVal = 0, tsEcr = 0;
};
struct UdpFields {
  bool present = false;
  std::uint16_t srcPort = 0, dstPort = 0;
  std::uint16_t length = 0;
};
struct IcmpFields {
  bool present = false;
  std::uint8_t type = 0, code = 0;
};

// What one frame holds. Only the fields of layers present are meaningful.
// The scalar part of a decoded frame: everything decodeFrame resets before each frame. The
// arrays that a count governs live in DecodedFrame and are not cleared (a reset costs a few
// stores instead of a 700-byte memset per frame).
struct FrameFields {
  std::uint8_t layerCount = 0;
  Malformed malformed;
  std::uint32_t wireLength = 0;
  std::uint32_t capturedLength = 0;

  // Link
  bool hasEthernet = false;
  Mac ethSrc{}, ethDst{};       // outermost Ethernet header
  std::uint16_t etherType = 0;  // of the outermost link header
  std::uint16_t vlanId = 0;     // outermost 802.1Q tag
  // Network and transport, first occurrence of each
  Ipv4Fields ipv4;
  Ipv6Fields ipv6;
  TcpFields tcp;
  UdpFields udp;
  IcmpFields icmp, icmpv6;
  // The first network and transport layers, whatever their protocol: what conversations and
  // experts key on. ipVersion is 0 without IP; transport is kData without TCP/UDP/ICMP.
  std::uint8_t ipVersion = 0;
  Layer transport = Layer::kData;
  std::uint32_t payloadOffset = 0;  // the first transport layer's payload in the frame
  std::uint32_t payloadLength = 0;
  // Application
  std::uint8_t dnsNameLength = 0;  // of DecodedFrame::dnsName
  std::uint16_t dnsId = 0;
  bool dnsResponse = false;
  std::string_view httpMethod;  // request method, a view into the frame bytes
  std::uint32_t dcerpcCallId = 0;
  std::uint8_t dcerpcPacketType = 0;
};

struct DecodedFrame : FrameFields {
  static constexpr std::size_t kMaxLayers = 16;
  std::array<LayerSpan, kMaxLayers> layers{};  // the first layerCount are valid
  std::array<char, 256> dnsName{};  // the first question's name, dotted; dnsNameLength chars

  const Address& ipSrc() const { return ipVersion == 6 ? ipv6.src : ipv4.src; }
  const Address& ipDst() const { return ipVersion == 6 ? ipv6.dst : ipv4.dst; }
  std::uint16_t srcPort() const {
    return transport == Layer::kTcp ? tcp.srcPort : transport == Layer::kUdp ? udp.srcPort : 0;
  }
  std::uint16_t dstPort() const {
    return transport == Layer::kTcp ? tcp.dstPort : transport == Layer::kUdp ? udp.dstPort : 0;
  }
  bool ipFragment() const {
    return ipVersion == 4 ? (ipv4.moreFragments || ipv4.fragmentOffset != 0)
                          : ipVersion == 6 && ipv6.fragment;
  }
  std::string_view dnsQueryName() const { return {dnsName.data(), dnsNameLength}; }
  bool has(Layer layer) const;
  const LayerSpan* find(Layer layer) const;
  // "eth:ip:tcp:http" (Wireshark's frame.protocols, without its pseudo layers such as ethertype).
  std::string protocols() const;
  // The highest layer, the one Protocol Distribution's "highest protocol" view counts.
  Layer highest() const { return layerCount ? layers[layerCount - 1].layer : Layer::kData; }
};

// Decodes one frame. `bytes` are the captured bytes, `wireLength` the original length.
void decodeFrame(std::span<const std::byte> bytes, std::uint16_t linkType, std::uint32_t wireLength,
                 DecodedFrame& out);

}  // namespace warden::decode
