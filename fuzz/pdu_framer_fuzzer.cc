// Fuzzes TCP reassembly and PDU framing on hostile streams. The input is a list of segments:
// a flags byte (direction, SYN, FIN, server port), a 2-byte sequence move, a length byte, then the
// bytes. They go through TcpReassembler into PduFramer. Nothing may crash, hang or allocate
// without bound, and the framer hands out at most keepBytes of any PDU.
#include <cstring>
#include <vector>

#include "reassembly/pdu_framer.h"
#include "reassembly/tcp_stream.h"

namespace r = warden::reassembly;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static constexpr std::uint16_t kPorts[] = {445, 139, 53, 80, 135, 8080, 4000, 12345};
  std::size_t kept = 0;
  r::PduFramer framer(
      [&](const r::Pdu& p) {
        kept = std::max(kept, p.bytes.size());
        if (p.bytes.size() > 4096) __builtin_trap();
      },
      r::FramerOptions{.keepBytes = 4096});
  r::TcpReassembler tcp([&](const r::Delivery& d) { framer.add(d); },
                        r::TcpOptions{.streamBudget = 1 << 16, .globalBudget = 1 << 20});
  std::uint32_t seq[2] = {1000, 5000};
  std::uint64_t frame = 0;
  std::vector<std::vector<std::byte>> payloads;
  std::size_t at = 0;
  while (at + 4 <= size) {
    std::uint8_t flags = data[at];
    std::uint16_t advance = static_cast<std::uint16_t>(data[at + 1] << 8 | data[at + 2]);
    std::size_t length = std::min<std::size_t>(data[at + 3], size - at - 4);
    at += 4;
    int dir = flags & 1;
    r::TcpSegment s;
    s.src.family = s.dst.family = 4;
    s.src.bytes[3] = static_cast<std::uint8_t>(1 + dir);
    s.dst.bytes[3] = static_cast<std::uint8_t>(2 - dir);
    std::uint16_t server = kPorts[(flags >> 4) & 7];
    s.srcPort = dir ? server : 40000;
    s.dstPort = dir ? 40000 : server;
    s.flags = static_cast<std::uint16_t>(((flags & 2) ? 0x02 : 0) | ((flags & 4) ? 0x01 : 0));
    // Mostly in order; the advance byte moves the sequence back or forward for holes and resends.
    seq[dir] += static_cast<std::uint32_t>(static_cast<std::int16_t>(advance) >> 6);
    s.seq = seq[dir];
    payloads.emplace_back(reinterpret_cast<const std::byte*>(data + at),
                          reinterpret_cast<const std::byte*>(data + at + length));
    s.payload = payloads.back();
    s.frame = ++frame;
    tcp.add(s);
    seq[dir] += static_cast<std::uint32_t>(length);
    at += length;
  }
  tcp.finish();
  framer.finish();
  return 0;
}
