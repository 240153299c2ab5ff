// Rebuilding datagrams and segments: copy the template's headers, patch lengths and fragment
// fields, recompute the IPv4 header checksum and the TCP checksum over its pseudo-header.
#include "reassembly/rebuild.h"

#include <cstring>

namespace warden::reassembly {

namespace {

const decode::LayerSpan* firstIp(const decode::DecodedFrame& d) {
  for (std::size_t i = 0; i < d.layerCount; ++i) {
    if (d.layers[i].layer == decode::Layer::kIpv4 || d.layers[i].layer == decode::Layer::kIpv6)
      return &d.layers[i];
  }
  return nullptr;
}

std::uint8_t at(std::span<const std::byte> b, std::size_t i) {
  return static_cast<std::uint8_t>(b[i]);
}
void put16(std::vector<std::byte>& b, std::size_t i, std::uint32_t v) {
  b[i] = static_cast<std::byte>(v >> 8);
  b[i + 1] = static_cast<std::byte>(v);
}

// The one's-complement sum of 16-bit words, folded later.
std::uint32_t sum16(std::span<const std::byte> b, std::uint32_t sum = 0) {
  std::size_t i = 0;
  for (; i + 1 < b.size(); i += 2) sum += at(b, i) << 8 | at(b, i + 1);
  if (i < b.size()) sum += at(b, i) << 8;
  return sum;
}
std::uint16_t fold(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

void ipv4Checksum(std::vector<std::byte>& frame, std::size_t ip, std::size_t headerLength) {
  put16(frame, ip + 10, 0);
  put16(frame, ip + 10, fold(sum16(std::span<const std::byte>(frame).subspan(ip, headerLength))));
}

}  // namespace

bool rebuildableLink(const decode::DecodedFrame& decoded) {
  for (std::size_t i = 0; i < decoded.layerCount; ++i) {
    switch (decoded.layers[i].layer) {
      case decode::Layer::kEthernet:
      case decode::Layer::kVlan:
      case decode::Layer::kSll:
      case decode::Layer::kSll2:
      case decode::Layer::kNull:
        continue;
      case decode::Layer::kIpv4:
      case decode::Layer::kIpv6:
        return true;
      default:
        return false;
    }
  }
  return false;
}

std::size_t maxSegmentPayload(const decode::DecodedFrame& d) {
  const decode::LayerSpan* ip = firstIp(d);
  if (ip == nullptr || !d.tcp.present) return 0;
  // IPv4 counts its header in the 16-bit total length; IPv6 counts only what follows it.
  std::size_t headers = d.tcp.headerLength + (ip->layer == decode::Layer::kIpv4 ? ip->length : 0);
  return headers >= 65535 ? 0 : 65535 - headers;
}

Result<std::vector<std::byte>> rebuildDatagram(std::span<const std::byte> first,
                                               const decode::DecodedFrame& d,
                                               std::span<const std::byte> payload) {
  const decode::LayerSpan* ip = firstIp(d);
  if (ip == nullptr) return MalformedError("rebuild: the first fragment has no IP header");
  if (!rebuildableLink(d)) return UnsupportedError("rebuild: link layer with a length field");
  std::vector<std::byte> out;
  if (ip->layer == decode::Layer::kIpv4) {
    std::size_t headerEnd = ip->offset + ip->length;
    if (headerEnd > first.size()) return TruncatedError("rebuild: IPv4 header cut short");
    if (ip->length + payload.size() > 65535)
      return LimitExceededError("rebuild: {} bytes do not fit one IPv4 datagram", payload.size());
    out.assign(first.begin(), first.begin() + static_cast<std::ptrdiff_t>(headerEnd));
    out.insert(out.end(), payload.begin(), payload.end());
    put16(out, ip->offset + 2, static_cast<std::uint32_t>(ip->length + payload.size()));
    // Keep DF and the reserved bit, clear MF and the offset.
    out[ip->offset + 6] &= std::byte{0xc0};
    out[ip->offset + 7] = std::byte{0};
    ipv4Checksum(out, ip->offset, ip->length);
    return out;
  }
  // IPv6: the headers up to the fragment header stay, the fragment header goes, and the header
  // before it names what followed the fragment header.
  std::size_t nextField = ip->offset + 6;
  std::size_t pos = ip->offset + 40;
  for (int guard = 0; guard < 16; ++guard) {
    if (pos + 8 > first.size()) return TruncatedError("rebuild: IPv6 extension headers cut short");
    std::uint8_t next = at(first, nextField);
    if (next == 44) {
      std::size_t unfragmentable = pos - (ip->offset + 40);
      if (unfragmentable + payload.size() > 65535)
        return LimitExceededError("rebuild: {} bytes do not fit one IPv6 datagram", payload.size());
      out.assign(first.begin(), first.begin() + static_cast<std::ptrdiff_t>(pos));
      out[nextField] = first[pos];
      out.insert(out.end(), payload.begin(), payload.end());
      put16(out, ip->offset + 4, static_cast<std::uint32_t>(unfragmentable + payload.size()));
      return out;
    }
    if (next != 0 && next != 43 && next != 60 && next != 51) break;
    nextField = pos;
    std::size_t units = at(first, pos + 1);
    pos += next == 51 ? (units + 2) * 4 : (units + 1) * 8;
  }
  return MalformedError("rebuild: no IPv6 fragment header in the first fragment");
}

Result<std::vector<std::byte>> rebuildSegment(std::span<const std::byte> frame,
                                              const decode::DecodedFrame& d, std::uint32_t seq,
                                              std::span<const std::byte> payload) {
  const decode::LayerSpan* ip = firstIp(d);
  const decode::LayerSpan* tcp = d.find(decode::Layer::kTcp);
  if (ip == nullptr || tcp == nullptr || !d.tcp.present)
    return MalformedError("rebuild: the template has no IP/TCP headers");
  if (!rebuildableLink(d)) return UnsupportedError("rebuild: link layer with a length field");
  std::size_t tcpEnd = tcp->offset + tcp->length;
  if (tcpEnd > frame.size()) return TruncatedError("rebuild: template headers cut short");
  if (payload.size() > maxSegmentPayload(d))
    return LimitExceededError("rebuild: {} bytes do not fit one segment", payload.size());
  std::vector<std::byte> out(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(tcpEnd));
  out.insert(out.end(), payload.begin(), payload.end());
  std::size_t tcpLength = tcp->length + payload.size();
  std::uint32_t pseudo = 0;
  if (ip->layer == decode::Layer::kIpv4) {
    put16(out, ip->offset + 2, static_cast<std::uint32_t>(tcp->offset - ip->offset + tcpLength));
    out[ip->offset + 6] &= std::byte{0xc0};  // never a fragment
    out[ip->offset + 7] = std::byte{0};
    ipv4Checksum(out, ip->offset, ip->length);
    pseudo = sum16(std::span<const std::byte>(out).subspan(ip->offset + 12, 8));
    pseudo += 6 + static_cast<std::uint32_t>(tcpLength);
  } else {
    put16(out, ip->offset + 4,
          static_cast<std::uint32_t>(tcp->offset - ip->offset - 40 + tcpLength));
    pseudo = sum16(std::span<const std::byte>(out).subspan(ip->offset + 8, 32));
    pseudo += 6 + static_cast<std::uint32_t>(tcpLength >> 16) +
              static_cast<std::uint32_t>(tcpLength & 0xffff);
  }
  std::size_t t = tcp->offset;
  out[t + 4] = static_cast<std::byte>(seq >> 24);
  out[t + 5] = static_cast<std::byte>(seq >> 16);
  out[t + 6] = static_cast<std::byte>(seq >> 8);
  out[t + 7] = static_cast<std::byte>(seq);
  out[t + 13] &= std::byte{0xfd};  // a PDU segment is never a SYN
  put16(out, t + 16, 0);
  put16(out, t + 16, fold(sum16(std::span<const std::byte>(out).subspan(t, tcpLength), pseudo)));
  return out;
}

}  // namespace warden::reassembly
