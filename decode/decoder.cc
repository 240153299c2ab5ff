// The layer decoders. Each reads its header through a ByteReader bounded by the frame, records its
// span, fills its fields and hands the rest to the next layer; a short or inconsistent header
// records a Malformed finding and stops the frame.
#include "decode/decoder.h"

#include <arpa/inet.h>

#include <cstring>

#include "base/bytes.h"

namespace warden::decode {
namespace {

// Link types (pcap LINKTYPE_ values) this decoder starts from.
constexpr std::uint16_t kLinkNull = 0, kLinkEthernet = 1, kLinkRaw = 101, kLinkLoop = 108,
                        kLinkSll = 113, kLinkIpv4 = 228, kLinkIpv6 = 229, kLinkNflog = 239,
                        kLinkSll2 = 276;

constexpr std::uint16_t kEtherIpv4 = 0x0800, kEtherArp = 0x0806, kEtherVlan = 0x8100,
                        kEtherQinq = 0x88a8, kEtherIpv6 = 0x86dd, kEtherVlan9100 = 0x9100,
                        kEtherPppoeSession = 0x8864;

class Decoder {
 public:
  Decoder(std::span<const std::byte> bytes, DecodedFrame& out) : bytes_(bytes), out_(out) {}

  void link(std::uint16_t linkType) {
    switch (linkType) {
      case kLinkEthernet:
        return ethernet(0);
      case kLinkSll:
        return sll(0);
      case kLinkSll2:
        return sll2(0);
      case kLinkNull:
      case kLinkLoop:
        return null(0, linkType == kLinkLoop);
      case kLinkNflog:
        return nflog(0);
      case kLinkRaw:
        return rawIp(0);
      case kLinkIpv4:
        return ipv4(0);
      case kLinkIpv6:
        return ipv6(0);
      default:
        return data(0);
    }
  }

 private:
  std::size_t size() const { return bytes_.size(); }
  ByteReader at(std::size_t offset, Endian e = Endian::kBig) const {
    return ByteReader(bytes_.subspan(offset), offset, e);
  }
  // Network-order fields of headers whose length was checked first: no Result per field (the
  // headers every frame has are read this way; the rest through ByteReader).
  std::uint8_t u8At(std::size_t offset) const { return static_cast<std::uint8_t>(bytes_[offset]); }
  std::uint16_t be16At(std::size_t offset) const {
    std::uint16_t v;
    std::memcpy(&v, bytes_.data() + offset, 2);
    return kHostEndian == Endian::kBig ? v : byteSwap(v);
  }
  std::uint32_t be32At(std::size_t offset) const {
    std::uint32_t v;
    std::memcpy(&v, bytes_.data() + offset, 4);
    return kHostEndian == Endian::kBig ? v : byteSwap(v);
  }
  void push(Layer layer, std::size_t offset, std::size_t length) {
    if (out_.layerCount == DecodedFrame::kMaxLayers) return;
    out_.layers[out_.layerCount++] = {layer, static_cast<std::uint32_t>(offset),
                                      static_cast<std::uint32_t>(length)};
  }
  void malformed(Layer layer, std::size_t offset, const char* reason) {
    out_.malformed = {true, layer, static_cast<std::uint32_t>(offset), reason};
  }
  void data(std::size_t offset) {
    if (offset < size()) push(Layer::kData, offset, size() - offset);
  }

  void etherType(std::uint16_t type, std::size_t offset) {
    if (out_.etherType == 0) out_.etherType = type;
    switch (type) {
      case kEtherIpv4:
        return ipv4(offset);
      case kEtherIpv6:
        return ipv6(offset);
      case kEtherArp:
        return arp(offset);
      case kEtherVlan:
      case kEtherQinq:
      case kEtherVlan9100:
        return vlan(offset);
      case kEtherPppoeSession:
        return pppoe(offset);
      default:
        return data(offset);
    }
  }

  // PPPoE session stage: version/type, code, session id, length; then PPP's protocol field.
  void pppoe(std::size_t offset) {
    if (size() - offset < 8)
      return malformed(Layer::kPppoe, offset, "PPPoE session header needs 8 bytes");
    ByteReader r = at(offset + 6);
    std::uint16_t protocol = *r.u16();
    push(Layer::kPppoe, offset, 6);
    push(Layer::kPpp, offset + 6, 2);
    if (protocol == 0x0021) return ipv4(offset + 8);
    if (protocol == 0x0057) return ipv6(offset + 8);
    data(offset + 8);
  }

  void ethernet(std::size_t offset) {
    if (size() - offset < 14)
      return malformed(Layer::kEthernet, offset, "Ethernet header needs 14 bytes");
    if (!out_.hasEthernet) {
      out_.hasEthernet = true;
      std::memcpy(out_.ethDst.data(), bytes_.data() + offset, 6);
      std::memcpy(out_.ethSrc.data(), bytes_.data() + offset + 6, 6);
    }
    std::uint16_t type = be16At(offset + 12);
    push(Layer::kEthernet, offset, 14);
    // Values up to 1500 are 802.3 lengths (LLC follows), not EtherTypes.
    if (type <= 1500) return data(offset + 14);
    etherType(type, offset + 14);
  }

  void vlan(std::size_t offset) {
    if (size() - offset < 4) return malformed(Layer::kVlan, offset, "802.1Q tag needs 4 bytes");
    ByteReader r = at(offset);
    std::uint16_t tci = *r.u16();
    std::uint16_t type = *r.u16();
    if (!out_.has(Layer::kVlan)) out_.vlanId = tci & 0x0fff;
    push(Layer::kVlan, offset, 4);
    etherType(type, offset + 4);
  }

  void sll(std::size_t offset) {
    if (size() - offset < 16)
      return malformed(Layer::kSll, offset, "Linux cooked header needs 16 bytes");
    ByteReader r = at(offset);
    (void)r.skip(14);
    std::uint16_t protocol = *r.u16();
    push(Layer::kSll, offset, 16);
    etherType(protocol, offset + 16);
  }

  void sll2(std::size_t offset) {
    if (size() - offset < 20)
      return malformed(Layer::kSll2, offset, "Linux cooked v2 header needs 20 bytes");
    std::uint16_t protocol = *at(offset).u16();
    push(Layer::kSll2, offset, 20);
    etherType(protocol, offset + 20);
  }

  // BSD loopback: a 4-byte address family in the capturing host's byte order (DLT_NULL) or in
  // network order (DLT_LOOP). 2 is IPv4; 24, 28 and 30 are IPv6 on the BSDs and macOS.
  void null(std::size_t offset, bool networkOrder) {
    if (size() - offset < 4)
      return malformed(Layer::kNull, offset, "loopback header needs 4 bytes");
    std::uint32_t family = *at(offset, Endian::kBig).u32();
    if (!networkOrder && (family & 0xffff) == 0) family = byteSwap(family);
    push(Layer::kNull, offset, 4);
    if (family == 2) return ipv4(offset + 4);
    if (family == 24 || family == 28 || family == 30 || family == 10) return ipv6(offset + 4);
    data(offset + 4);
  }

  // NFLOG: a 4-byte header, then TLVs (host-order length and type, padded to 4). Type 9 carries
  // the packet, starting at its network header.
  void nflog(std::size_t offset) {
    if (size() - offset < 4) return malformed(Layer::kNflog, offset, "NFLOG header needs 4 bytes");
    std::uint8_t family = static_cast<std::uint8_t>(bytes_[offset]);
    push(Layer::kNflog, offset, 4);
    std::size_t pos = offset + 4;
    // A TLV's padding may reach past the frame: test pos < size() before subtracting.
    while (pos < size() && size() - pos >= 4) {
      ByteReader r = at(pos, Endian::kLittle);
      std::uint16_t length = *r.u16();
      std::uint16_t type = *r.u16() & 0x7fff;
      if (length < 4 || length > size() - pos)
        return malformed(Layer::kNflog, pos, "NFLOG TLV length out of range");
      if (type == 9) {
        std::size_t payload = pos + 4;
        if (family == 10) return ipv6(payload);
        return ipv4(payload);
      }
      pos += (std::size_t{length} + 3) & ~std::size_t{3};
    }
  }

  void rawIp(std::size_t offset) {
    if (offset >= size()) return malformed(Layer::kIpv4, offset, "empty raw IP frame");
    std::uint8_t version = static_cast<std::uint8_t>(bytes_[offset]) >> 4;
    if (version == 4) return ipv4(offset);
    if (version == 6) return ipv6(offset);
    data(offset);
  }

  void arp(std::size_t offset) {
    if (size() - offset < 8) return malformed(Layer::kArp, offset, "ARP header needs 8 bytes");
    push(Layer::kArp, offset, size() - offset);
  }

  // RFC 1071 over an IPv4 header (a multiple of 4 bytes): 32-bit words summed in 64 bits, folded.
  static std::uint16_t internetChecksum(std::span<const std::byte> header) {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i + 3 < header.size(); i += 4) {
      std::uint32_t word;
      std::memcpy(&word, header.data() + i, 4);
      sum += kHostEndian == Endian::kBig ? word : byteSwap(word);
    }
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
  }

  void ipv4(std::size_t offset) {
    if (size() - offset < 20) return malformed(Layer::kIpv4, offset, "IPv4 header needs 20 bytes");
    std::uint8_t versionIhl = u8At(offset);
    std::size_t headerLength = static_cast<std::size_t>(versionIhl & 0x0fu) * 4;
    if ((versionIhl >> 4) != 4) return malformed(Layer::kIpv4, offset, "IPv4 version is not 4");
    if (headerLength < 20) return malformed(Layer::kIpv4, offset, "IPv4 header length under 20");
    if (headerLength > size() - offset)
      return malformed(Layer::kIpv4, offset, "IPv4 options run past the frame");
    // offset + 1: DSCP/ECN
    std::uint16_t total = be16At(offset + 2);
    std::uint16_t id = be16At(offset + 4);
    std::uint16_t fragment = be16At(offset + 6);
    std::uint8_t ttl = u8At(offset + 8);
    std::uint8_t proto = u8At(offset + 9);
    if (out_.ipVersion == 0) out_.ipVersion = 4;
    Ipv4Fields& ip = out_.ipv4;
    if (!ip.present) {
      ip.present = true;
      ip.src.family = ip.dst.family = 4;
      std::memcpy(ip.src.bytes.data(), bytes_.data() + offset + 12, 4);
      std::memcpy(ip.dst.bytes.data(), bytes_.data() + offset + 16, 4);
      ip.proto = proto;
      ip.ttl = ttl;
      ip.totalLength = total;
      ip.id = id;
      ip.dontFragment = (fragment & 0x4000) != 0;
      ip.moreFragments = (fragment & 0x2000) != 0;
      ip.fragmentOffset = static_cast<std::uint16_t>((fragment & 0x1fff) * 8);
      ip.checksumGood = internetChecksum(bytes_.subspan(offset, headerLength)) == 0;
    }
    push(Layer::kIpv4, offset, headerLength);
    if (total < headerLength)
      return malformed(Layer::kIpv4, offset, "IPv4 total length under its header length");
    // The payload ends at the IP total length (Ethernet pads short frames), or the capture end.
    std::size_t end = std::min(size(), offset + total);
    std::size_t payload = offset + headerLength;
    if ((fragment & 0x1fff) != 0) return data(payload);  // not the first fragment: no L4 header
    transport(proto, payload, end, total - headerLength);
  }

  void ipv6(std::size_t offset) {
    if (size() - offset < 40) return malformed(Layer::kIpv6, offset, "IPv6 header needs 40 bytes");
    std::uint32_t first32 = be32At(offset);
    if ((first32 >> 28) != 6) return malformed(Layer::kIpv6, offset, "IPv6 version is not 6");
    std::uint16_t payloadLength = be16At(offset + 4);
    std::uint8_t next = u8At(offset + 6);
    std::uint8_t hopLimit = u8At(offset + 7);
    if (out_.ipVersion == 0) out_.ipVersion = 6;
    Ipv6Fields& ip = out_.ipv6;
    bool first = !ip.present;
    if (first) {
      ip.present = true;
      ip.src.family = ip.dst.family = 6;
      std::memcpy(ip.src.bytes.data(), bytes_.data() + offset + 8, 16);
      std::memcpy(ip.dst.bytes.data(), bytes_.data() + offset + 24, 16);
      ip.hopLimit = hopLimit;
      ip.payloadLength = payloadLength;
    }
    push(Layer::kIpv6, offset, 40);
    std::size_t pos = offset + 40;
    std::size_t end = std::min(size(), pos + payloadLength);
    std::size_t remaining = payloadLength;
    // Extension headers: hop-by-hop 0, routing 43, fragment 44, destination options 60, AH 51.
    for (int guard = 0; guard < 16; ++guard) {
      if (next == 0 || next == 43 || next == 60 || next == 51) {
        if (end - std::min(end, pos) < 8)
          return malformed(Layer::kIpv6, pos, "IPv6 extension header runs past the payload");
        std::uint8_t following = static_cast<std::uint8_t>(bytes_[pos]);
        std::size_t units = static_cast<std::uint8_t>(bytes_[pos + 1]);
        std::size_t length = next == 51 ? (units + 2) * 4 : (units + 1) * 8;
        if (length > end - pos)
          return malformed(Layer::kIpv6, pos, "IPv6 extension header runs past the payload");
        pos += length;
        remaining -= std::min(remaining, length);
        next = following;
        continue;
      }
      if (next == 44) {
        if (end - std::min(end, pos) < 8)
          return malformed(Layer::kIpv6, pos, "IPv6 fragment header needs 8 bytes");
        ByteReader f = at(pos);
        std::uint8_t following = *f.u8();
        (void)f.u8();
        std::uint16_t offsetFlags = *f.u16();
        std::uint32_t id = *f.u32();
        if (first) {
          ip.fragment = true;
          ip.fragmentOffset = static_cast<std::uint16_t>(offsetFlags & 0xfff8);
          ip.moreFragments = (offsetFlags & 1) != 0;
          ip.fragmentId = id;
        }
        pos += 8;
        remaining -= std::min<std::size_t>(remaining, 8);
        next = following;
        if ((offsetFlags & 0xfff8) != 0) {
          if (first) ip.next = next;
          return data(pos);
        }
        continue;
      }
      break;
    }
    if (first) ip.next = next;
    transport(next, pos, end, remaining);
  }

  // `end` bounds the transport bytes in the frame; `ipPayload` is the length the IP header claims.
  void transport(std::uint8_t proto, std::size_t offset, std::size_t end, std::size_t ipPayload) {
    if (offset > end) return malformed(Layer::kIpv4, offset, "IP payload starts past its end");
    switch (proto) {
      case 6:
        return tcp(offset, end, ipPayload);
      case 17:
        return udp(offset, end);
      case 1:
        return icmp(offset, end, Layer::kIcmp);
      case 58:
        return icmp(offset, end, Layer::kIcmpv6);
      case 4:
        return ipv4(offset);  // IP in IP
      case 41:
        return ipv6(offset);  // IPv6 in IP
      default:
        return data(offset);
    }
  }

  // The first transport layer of the frame sets the payload experts look at.
  void firstTransport(Layer layer, std::size_t payload, std::size_t end) {
    if (out_.transport != Layer::kData) return;
    out_.transport = layer;
    out_.payloadOffset = static_cast<std::uint32_t>(payload);
    out_.payloadLength = static_cast<std::uint32_t>(end > payload ? end - payload : 0);
  }

  void tcp(std::size_t offset, std::size_t end, std::size_t ipPayload) {
    if (end - offset < 20) return malformed(Layer::kTcp, offset, "TCP header needs 20 bytes");
    std::uint16_t src = be16At(offset), dst = be16At(offset + 2);
    std::uint32_t seq = be32At(offset + 4), ack = be32At(offset + 8);
    std::uint16_t offsetFlags = be16At(offset + 12);
    std::uint16_t window = be16At(offset + 14);
    std::size_t headerLength = static_cast<std::size_t>(offsetFlags >> 12) * 4;
    if (headerLength < 20) return malformed(Layer::kTcp, offset, "TCP header length under 20");
    if (headerLength > end - offset)
      return malformed(Layer::kTcp, offset, "TCP options run past the segment");
    push(Layer::kTcp, offset, headerLength);
    TcpFields& t = out_.tcp;
    if (!t.present) {
      t.present = true;
      t.srcPort = src;
      t.dstPort = dst;
      t.seq = seq;
      t.ack = ack;
      t.flags = offsetFlags & 0x0fff;
      t.window = window;
      t.headerLength = static_cast<std::uint8_t>(headerLength);
      t.len = static_cast<std::uint32_t>(ipPayload >= headerLength ? ipPayload - headerLength : 0);
      tcpOptions(t, offset + 20, offset + headerLength);
    }
    firstTransport(Layer::kTcp, offset + headerLength, end);
    application(Layer::kTcp, offset + headerLength, end, src, dst);
  }

  void tcpOptions(TcpFields& t, std::size_t pos, std::size_t end) {
    while (pos < end) {
      auto kind = static_cast<std::uint8_t>(bytes_[pos]);
      if (kind == 0) return;  // end of options
      if (kind == 1) {        // no-op
        ++pos;
        continue;
      }
      if (end - pos < 2) return;
      std::size_t length = static_cast<std::uint8_t>(bytes_[pos + 1]);
      if (length < 2 || length > end - pos) return;  // tshark flags these; the header is still used
      switch (kind) {                                // `length` bytes are there: checked above
        case 2:
          if (length == 4) t.mss = be16At(pos + 2);
          break;
        case 3:
          if (length == 3) t.windowScale = u8At(pos + 2);
          break;
        case 4:
          t.sackPermitted = length == 2;
          break;
        case 8:
          if (length == 10) {
            t.tsVal = be32At(pos + 2);
            t.tsEcr = be32At(pos + 6);
            t.hasTimestamps = true;
          }
          break;
        default:
          break;
      }
      pos += length;
    }
  }

  void udp(std::size_t offset, std::size_t end) {
    if (end - offset < 8) return malformed(Layer::kUdp, offset, "UDP header needs 8 bytes");
    std::uint16_t src = be16At(offset), dst = be16At(offset + 2), length = be16At(offset + 4);
    push(Layer::kUdp, offset, 8);
    UdpFields& u = out_.udp;
    if (!u.present) u = UdpFields{true, src, dst, length};
    std::size_t payloadEnd = length >= 8 ? std::min(end, offset + length) : end;
    firstTransport(Layer::kUdp, offset + 8, payloadEnd);
    if (src == 1701 || dst == 1701) return l2tp(offset + 8, payloadEnd);
    application(Layer::kUdp, offset + 8, payloadEnd, src, dst);
  }

  // ICMP and ICMPv6. Error messages quote the offending packet's IP header and first bytes,
  // which Wireshark decodes as an inner IP packet; so does this.
  void icmp(std::size_t offset, std::size_t end, Layer layer) {
    if (end - offset < 4) return malformed(layer, offset, "ICMP header needs 4 bytes");
    auto type = static_cast<std::uint8_t>(bytes_[offset]);
    auto code = static_cast<std::uint8_t>(bytes_[offset + 1]);
    IcmpFields& fields = layer == Layer::kIcmp ? out_.icmp : out_.icmpv6;
    if (!fields.present) fields = IcmpFields{true, type, code};
    firstTransport(layer, offset + 4, end);
    bool error = layer == Layer::kIcmp
                     ? (type == 3 || type == 4 || type == 5 || type == 11 || type == 12)
                     : (type >= 1 && type <= 4);
    if (!error || end - offset <= 8) return push(layer, offset, end - offset);
    push(layer, offset, 8);
    // The quoted packet is cut short by design; decode what there is without calling it malformed.
    Malformed saved = out_.malformed;
    if (layer == Layer::kIcmp) {
      ipv4(offset + 8);
    } else {
      ipv6(offset + 8);
    }
    out_.malformed = saved;
  }

  // L2TPv2 data messages (UDP 1701) carry PPP frames: flags and version, optional length, tunnel
  // and session ids, optional sequence numbers and offset padding.
  void l2tp(std::size_t offset, std::size_t end) {
    if (end - offset < 6) return data(offset);
    ByteReader r = at(offset);
    std::uint16_t flags = *r.u16();
    if ((flags & 0x000f) != 2) return data(offset);  // not L2TPv2
    std::size_t pos = offset + 2;
    if (flags & 0x4000) pos += 2;  // length
    pos += 4;                      // tunnel id, session id
    if (flags & 0x0800) pos += 4;  // Ns, Nr
    if (flags & 0x0200) {          // offset size, then that much padding
      if (end - std::min(end, pos) < 2)
        return malformed(Layer::kL2tp, offset, "L2TP offset field runs past the datagram");
      pos += 2 + *at(pos).u16();
    }
    if (pos > end) return malformed(Layer::kL2tp, offset, "L2TP header runs past the datagram");
    push(Layer::kL2tp, offset, pos - offset);
    if (flags & 0x8000) return data(pos);  // a control message, not PPP
    // PPP: optional address/control 0xff03, then the protocol.
    if (end - pos >= 2 && bytes_[pos] == std::byte{0xff} && bytes_[pos + 1] == std::byte{0x03})
      pos += 2;
    if (end - std::min(end, pos) < 2) return data(pos);
    std::uint16_t protocol = *at(pos).u16();
    push(Layer::kPpp, pos, 2);
    if (protocol == 0x0021) return ipv4(pos + 2);
    if (protocol == 0x0057) return ipv6(pos + 2);
    data(pos + 2);
  }

  // Application protocols, recognised by port and confirmed by content.
  void application(Layer transport, std::size_t offset, std::size_t end, std::uint16_t src,
                   std::uint16_t dst) {
    if (offset >= end) return;
    auto port = [&](std::uint16_t p) { return src == p || dst == p; };
    if (port(53) || port(5353)) {
      // DNS over TCP has a 2-byte length prefix.
      std::size_t start = transport == Layer::kTcp ? offset + 2 : offset;
      if (start < end && dns(start, end)) return;
    }
    if (transport == Layer::kTcp) {
      if ((port(139) || port(445)) && nbss(offset, end)) return;
      if (http(offset, end)) return;
      if (dcerpc(offset, end)) return;
    } else if (dcerpc(offset, end) && port(135)) {
      return;
    }
    data(offset);
  }

  bool dns(std::size_t offset, std::size_t end) {
    if (end - offset < 12) return false;
    ByteReader r = at(offset);
    std::uint16_t id = *r.u16();
    std::uint16_t flags = *r.u16();
    std::uint16_t questions = *r.u16();
    if ((flags & 0x7800) > 0x1000) return false;  // opcode beyond those in use: not DNS
    push(Layer::kDns, offset, end - offset);
    if (out_.has(Layer::kDns) && out_.find(Layer::kDns)->offset != offset) return true;
    out_.dnsId = id;
    out_.dnsResponse = (flags & 0x8000) != 0;
    if (questions == 0) return true;
    // The first question's name: labels, no compression expected in a question, bounded.
    std::size_t pos = offset + 12;
    std::size_t length = 0;
    for (int labels = 0; labels < 128 && pos < end; ++labels) {
      std::size_t n = static_cast<std::uint8_t>(bytes_[pos]);
      if (n == 0) break;
      if (n >= 0xc0 || n > end - pos - 1 || length + n + 1 >= out_.dnsName.size()) {
        malformed(Layer::kDns, pos, "DNS question name is malformed");
        length = 0;
        break;
      }
      if (length > 0) out_.dnsName[length++] = '.';
      std::memcpy(out_.dnsName.data() + length, bytes_.data() + pos + 1, n);
      length += n;
      pos += n + 1;
    }
    out_.dnsNameLength = static_cast<std::uint8_t>(length);
    return true;
  }

  bool http(std::size_t offset, std::size_t end) {
    std::string_view text(reinterpret_cast<const char*>(bytes_.data()) + offset, end - offset);
    // Most TCP payloads are the middle of something: one look at the first byte rules them out.
    switch (text[0]) {
      case 'G':
      case 'P':
      case 'H':
      case 'D':
      case 'O':
      case 'C':
      case 'T':
        break;
      default:
        return false;
    }
    static constexpr std::string_view kMethods[] = {
        "GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "};
    for (std::string_view method : kMethods) {
      if (text.starts_with(method)) {
        out_.httpMethod = text.substr(0, method.size() - 1);
        push(Layer::kHttp, offset, end - offset);
        return true;
      }
    }
    if (text.starts_with("HTTP/1.")) {
      push(Layer::kHttp, offset, end - offset);
      return true;
    }
    return false;
  }

  // NetBIOS session service: type, flags, 17-bit length. A session message must carry an SMB,
  // SMB2 or SMB3-transform header, and the control messages have their fixed lengths: without
  // reassembly, a continuation segment that happens to start with a zero byte is not NBSS (as
  // tshark decides with desegmentation off).
  bool nbss(std::size_t offset, std::size_t end) {
    if (end - offset < 4) return false;
    const auto* p = reinterpret_cast<const unsigned char*>(bytes_.data()) + offset;
    std::uint8_t type = p[0];
    if ((p[1] & 0xfe) != 0) return false;
    std::uint32_t length = (p[1] & 1u) << 16 | p[2] << 8 | p[3];
    std::size_t smb = offset + 4;
    bool smbHeader = end - smb >= 4 && p[5] == 'S' && p[6] == 'M' && p[7] == 'B' &&
                     (p[4] == 0xff || p[4] == 0xfe || p[4] == 0xfd);
    bool valid = type == 0x00                   ? length >= 4 && smbHeader
                 : type == 0x81                 ? length >= 68  // two encoded NetBIOS names
                 : type == 0x82 || type == 0x85 ? length == 0
                 : type == 0x83                 ? length == 1
                 : type == 0x84                 ? length == 6
                                                : false;
    if (!valid) return false;
    push(Layer::kNbss, offset, 4);
    if (type == 0x00) {
      if (p[4] == 0xff) push(Layer::kSmb, smb, end - smb);
      if (p[4] == 0xfe) push(Layer::kSmb2, smb, end - smb);
    }
    return true;
  }

  // Connection-oriented DCE/RPC: version 5.0 or 5.1, a known packet type, a 16-byte header.
  bool dcerpc(std::size_t offset, std::size_t end) {
    if (end - offset < 16) return false;
    const auto* p = reinterpret_cast<const unsigned char*>(bytes_.data()) + offset;
    if (p[0] != 5 || p[1] > 1 || p[2] > 20 || (p[4] & 0xee) != 0) return false;
    Endian e = (p[4] & 0x10) ? Endian::kLittle : Endian::kBig;
    ByteReader r = at(offset + 8, e);
    std::uint16_t fragLength = *r.u16();
    if (fragLength < 16) return false;
    (void)r.u16();
    out_.dcerpcCallId = *r.u32();
    out_.dcerpcPacketType = p[2];
    push(Layer::kDcerpc, offset, end - offset);
    return true;
  }

  std::span<const std::byte> bytes_;
  DecodedFrame& out_;
};

}  // namespace

std::string_view layerName(Layer layer) {
  switch (layer) {
    case Layer::kEthernet:
      return "eth";
    case Layer::kVlan:
      return "vlan";
    case Layer::kSll:
      return "sll";
    case Layer::kSll2:
      return "sll";
    case Layer::kNull:
      return "null";
    case Layer::kNflog:
      return "nflog";
    case Layer::kPppoe:
      return "pppoes";
    case Layer::kPpp:
      return "ppp";
    case Layer::kL2tp:
      return "l2tp";
    case Layer::kArp:
      return "arp";
    case Layer::kIpv4:
      return "ip";
    case Layer::kIpv6:
      return "ipv6";
    case Layer::kTcp:
      return "tcp";
    case Layer::kUdp:
      return "udp";
    case Layer::kIcmp:
      return "icmp";
    case Layer::kIcmpv6:
      return "icmpv6";
    case Layer::kDns:
      return "dns";
    case Layer::kHttp:
      return "http";
    case Layer::kNbss:
      return "nbss";
    case Layer::kSmb:
      return "smb";
    case Layer::kSmb2:
      return "smb2";
    case Layer::kDcerpc:
      return "dcerpc";
    case Layer::kData:
      return "data";
  }
  return "unknown";
}

std::string Address::toString() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family == 4) inet_ntop(AF_INET, bytes.data(), text, sizeof text);
  if (family == 6) inet_ntop(AF_INET6, bytes.data(), text, sizeof text);
  return text;
}

std::string macToString(const Mac& mac) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < mac.size(); ++i) {
    if (i) out += ':';
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

bool DecodedFrame::has(Layer layer) const { return find(layer) != nullptr; }

const LayerSpan* DecodedFrame::find(Layer layer) const {
  for (std::size_t i = 0; i < layerCount; ++i) {
    if (layers[i].layer == layer) return &layers[i];
  }
  return nullptr;
}

std::string DecodedFrame::protocols() const {
  std::string out;
  for (std::size_t i = 0; i < layerCount; ++i) {
    if (i) out += ':';
    out += layerName(layers[i].layer);
  }
  return out;
}

void decodeFrame(std::span<const std::byte> bytes, std::uint16_t linkType, std::uint32_t wireLength,
                 DecodedFrame& out) {
  // Copied from a constant: a fresh FrameFields{} is zeroed on the stack with `rep stos` and read
  // straight back, which stalls every frame on the failed store forwarding (a third of this
  // function's time in `perf annotate`).
  static const FrameFields kReset{};
  static_cast<FrameFields&>(out) = kReset;
  out.wireLength = wireLength;
  out.capturedLength = static_cast<std::uint32_t>(bytes.size());
  Decoder(bytes, out).link(linkType);
}

}  // namespace warden::decode
