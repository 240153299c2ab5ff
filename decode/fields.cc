// The field table. Each row is a Wireshark field name, its type, and when and how the decoded frame
// has it. Names and value forms follow tshark's so results can be compared with `tshark -T fields`.
#include "decode/fields.h"

#include <fmt/format.h>

#include <algorithm>

namespace warden::decode {
namespace {

FieldValue number(std::uint64_t n) {
  FieldValue v;
  v.number = n;
  return v;
}
FieldValue hex(std::uint64_t n, std::uint8_t digits) {
  FieldValue v;
  v.number = n;
  v.hexDigits = digits;
  return v;
}
FieldValue boolean(bool b) {
  FieldValue v;
  v.type = FieldType::kBool;
  v.number = b ? 1 : 0;
  return v;
}
FieldValue mac(const Mac& m) {
  FieldValue v;
  v.type = FieldType::kMac;
  v.mac = m;
  return v;
}
FieldValue address(const Address& a) {
  FieldValue v;
  v.type = FieldType::kAddress;
  v.address = a;
  return v;
}
FieldValue text(std::string_view t) {
  FieldValue v;
  v.type = FieldType::kString;
  v.text = t;
  return v;
}

bool tcp(const DecodedFrame& d) { return d.tcp.present; }
bool udp(const DecodedFrame& d) { return d.udp.present; }
bool ip4(const DecodedFrame& d) { return d.ipv4.present; }
bool ip6(const DecodedFrame& d) { return d.ipv6.present; }

// One value when `when` holds.
#define WARDEN_FIELD(name, type, description, when, value)                                \
  FieldDef {                                                                              \
    name, FieldType::type, description, [](const DecodedFrame& d, FieldValue* v) -> int { \
      if (!(when)) return 0;                                                              \
      v[0] = value;                                                                       \
      return 1;                                                                           \
    }                                                                                     \
  }
// Two values (source and destination) when `when` holds.
#define WARDEN_PAIR(name, type, description, when, first, second)                         \
  FieldDef {                                                                              \
    name, FieldType::type, description, [](const DecodedFrame& d, FieldValue* v) -> int { \
      if (!(when)) return 0;                                                              \
      v[0] = first;                                                                       \
      v[1] = second;                                                                      \
      return 2;                                                                           \
    }                                                                                     \
  }

const FieldDef kFields[] = {
    WARDEN_FIELD("frame.len", kUnsigned, "frame length on the wire", true, number(d.wireLength)),
    WARDEN_FIELD("frame.cap_len", kUnsigned, "captured length", true, number(d.capturedLength)),
    WARDEN_FIELD("eth.src", kMac, "Ethernet source", d.hasEthernet, mac(d.ethSrc)),
    WARDEN_FIELD("eth.dst", kMac, "Ethernet destination", d.hasEthernet, mac(d.ethDst)),
    WARDEN_PAIR("eth.addr", kMac, "Ethernet source or destination", d.hasEthernet, mac(d.ethSrc),
                mac(d.ethDst)),
    WARDEN_FIELD("eth.type", kUnsigned, "EtherType", d.etherType != 0, hex(d.etherType, 4)),
    WARDEN_FIELD("vlan.id", kUnsigned, "802.1Q VLAN id", d.has(Layer::kVlan), number(d.vlanId)),
    WARDEN_FIELD("ip.src", kAddress, "IPv4 source", ip4(d), address(d.ipv4.src)),
    WARDEN_FIELD("ip.dst", kAddress, "IPv4 destination", ip4(d), address(d.ipv4.dst)),
    WARDEN_PAIR("ip.addr", kAddress, "IPv4 source or destination", ip4(d), address(d.ipv4.src),
                address(d.ipv4.dst)),
    WARDEN_FIELD("ip.proto", kUnsigned, "IPv4 protocol", ip4(d), number(d.ipv4.proto)),
    WARDEN_FIELD("ip.ttl", kUnsigned, "IPv4 time to live", ip4(d), number(d.ipv4.ttl)),
    WARDEN_FIELD("ip.len", kUnsigned, "IPv4 total length", ip4(d), number(d.ipv4.totalLength)),
    WARDEN_FIELD("ip.id", kUnsigned, "IPv4 identification", ip4(d), hex(d.ipv4.id, 4)),
    WARDEN_FIELD("ip.flags.df", kBool, "IPv4 don't fragment", ip4(d), boolean(d.ipv4.dontFragment)),
    WARDEN_FIELD("ip.flags.mf", kBool, "IPv4 more fragments", ip4(d),
                 boolean(d.ipv4.moreFragments)),
    WARDEN_FIELD("ip.frag_offset", kUnsigned, "IPv4 fragment offset in bytes", ip4(d),
                 number(d.ipv4.fragmentOffset)),
    WARDEN_FIELD("ip.checksum.status", kUnsigned, "IPv4 header checksum: 1 good, 0 bad", ip4(d),
                 number(d.ipv4.checksumGood ? 1 : 0)),
    WARDEN_FIELD("ipv6.src", kAddress, "IPv6 source", ip6(d), address(d.ipv6.src)),
    WARDEN_FIELD("ipv6.dst", kAddress, "IPv6 destination", ip6(d), address(d.ipv6.dst)),
    WARDEN_PAIR("ipv6.addr", kAddress, "IPv6 source or destination", ip6(d), address(d.ipv6.src),
                address(d.ipv6.dst)),
    WARDEN_FIELD("ipv6.nxt", kUnsigned, "IPv6 upper-layer protocol", ip6(d), number(d.ipv6.next)),
    WARDEN_FIELD("ipv6.hlim", kUnsigned, "IPv6 hop limit", ip6(d), number(d.ipv6.hopLimit)),
    WARDEN_FIELD("tcp.srcport", kUnsigned, "TCP source port", tcp(d), number(d.tcp.srcPort)),
    WARDEN_FIELD("tcp.dstport", kUnsigned, "TCP destination port", tcp(d), number(d.tcp.dstPort)),
    WARDEN_PAIR("tcp.port", kUnsigned, "TCP source or destination port", tcp(d),
                number(d.tcp.srcPort), number(d.tcp.dstPort)),
    WARDEN_FIELD("tcp.seq", kUnsigned, "TCP sequence number (raw)", tcp(d), number(d.tcp.seq)),
    WARDEN_FIELD("tcp.ack", kUnsigned, "TCP acknowledgment number (raw)",
                 tcp(d) && (d.tcp.flags & 0x10), number(d.tcp.ack)),
    WARDEN_FIELD("tcp.len", kUnsigned, "TCP payload length", tcp(d), number(d.tcp.len)),
    WARDEN_FIELD("tcp.hdr_len", kUnsigned, "TCP header length", tcp(d), number(d.tcp.headerLength)),
    WARDEN_FIELD("tcp.window_size_value", kUnsigned, "TCP window (unscaled)", tcp(d),
                 number(d.tcp.window)),
    WARDEN_FIELD("tcp.flags", kUnsigned, "TCP flags", tcp(d), hex(d.tcp.flags, 4)),
    WARDEN_FIELD("tcp.flags.fin", kBool, "TCP FIN", tcp(d), boolean(d.tcp.flags & 0x01)),
    WARDEN_FIELD("tcp.flags.syn", kBool, "TCP SYN", tcp(d), boolean(d.tcp.flags & 0x02)),
    WARDEN_FIELD("tcp.flags.reset", kBool, "TCP RST", tcp(d), boolean(d.tcp.flags & 0x04)),
    WARDEN_FIELD("tcp.flags.push", kBool, "TCP PSH", tcp(d), boolean(d.tcp.flags & 0x08)),
    WARDEN_FIELD("tcp.flags.ack", kBool, "TCP ACK", tcp(d), boolean(d.tcp.flags & 0x10)),
    WARDEN_FIELD("tcp.flags.urg", kBool, "TCP URG", tcp(d), boolean(d.tcp.flags & 0x20)),
    WARDEN_FIELD("tcp.options.mss_val", kUnsigned, "TCP MSS option", tcp(d) && d.tcp.mss != 0,
                 number(d.tcp.mss)),
    WARDEN_FIELD("tcp.options.wscale.shift", kUnsigned, "TCP window scale option",
                 tcp(d) && d.tcp.windowScale >= 0,
                 number(static_cast<std::uint64_t>(d.tcp.windowScale))),
    WARDEN_FIELD("tcp.options.sack_perm", kBool, "TCP SACK permitted option",
                 tcp(d) && d.tcp.sackPermitted, boolean(true)),
    WARDEN_FIELD("tcp.options.timestamp.tsval", kUnsigned, "TCP timestamp value",
                 tcp(d) && d.tcp.hasTimestamps, number(d.tcp.tsVal)),
    WARDEN_FIELD("tcp.options.timestamp.tsecr", kUnsigned, "TCP timestamp echo reply",
                 tcp(d) && d.tcp.hasTimestamps, number(d.tcp.tsEcr)),
    WARDEN_FIELD("udp.srcport", kUnsigned, "UDP source port", udp(d), number(d.udp.srcPort)),
    WARDEN_FIELD("udp.dstport", kUnsigned, "UDP destination port", udp(d), number(d.udp.dstPort)),
    WARDEN_PAIR("udp.port", kUnsigned, "UDP source or destination port", udp(d),
                number(d.udp.srcPort), number(d.udp.dstPort)),
    WARDEN_FIELD("udp.length", kUnsigned, "UDP length", udp(d), number(d.udp.length)),
    WARDEN_FIELD("icmp.type", kUnsigned, "ICMP type", d.icmp.present, number(d.icmp.type)),
    WARDEN_FIELD("icmp.code", kUnsigned, "ICMP code", d.icmp.present, number(d.icmp.code)),
    WARDEN_FIELD("icmpv6.type", kUnsigned, "ICMPv6 type", d.icmpv6.present, number(d.icmpv6.type)),
    WARDEN_FIELD("icmpv6.code", kUnsigned, "ICMPv6 code", d.icmpv6.present, number(d.icmpv6.code)),
    WARDEN_FIELD("dns.id", kUnsigned, "DNS transaction id", d.has(Layer::kDns), hex(d.dnsId, 4)),
    WARDEN_FIELD("dns.flags.response", kBool, "DNS response", d.has(Layer::kDns),
                 boolean(d.dnsResponse)),
    WARDEN_FIELD("dns.qry.name", kString, "DNS first question name",
                 d.has(Layer::kDns) && d.dnsNameLength > 0, text(d.dnsQueryName())),
    WARDEN_FIELD("http.request.method", kString, "HTTP request method", !d.httpMethod.empty(),
                 text(d.httpMethod)),
    WARDEN_FIELD("dcerpc.pkt_type", kUnsigned, "DCE/RPC packet type", d.has(Layer::kDcerpc),
                 number(d.dcerpcPacketType)),
    WARDEN_FIELD("dcerpc.cn_call_id", kUnsigned, "DCE/RPC call id", d.has(Layer::kDcerpc),
                 number(d.dcerpcCallId)),
};

#undef WARDEN_FIELD
#undef WARDEN_PAIR

}  // namespace

std::string FieldValue::toString() const {
  switch (type) {
    case FieldType::kUnsigned:
      return hexDigits ? fmt::format("0x{:0{}x}", number, hexDigits) : fmt::format("{}", number);
    case FieldType::kBool:
      return number ? "1" : "0";
    case FieldType::kMac:
      return macToString(mac);
    case FieldType::kAddress:
      return address.toString();
    case FieldType::kString:
      return std::string(text);
  }
  return {};
}

std::span<const FieldDef> allFields() { return kFields; }

const FieldDef* findField(std::string_view name) {
  auto it = std::find_if(std::begin(kFields), std::end(kFields),
                         [&](const FieldDef& f) { return f.name == name; });
  return it == std::end(kFields) ? nullptr : &*it;
}

}  // namespace warden::decode
