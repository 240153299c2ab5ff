// pcap (libpcap's classic format): both byte orders, microsecond and nanosecond magic numbers.
// The 24-byte file header is followed by records of a 16-byte header and the captured bytes.
#include <cstdint>

#include "base/bytes.h"
#include "capture/builder.h"

namespace warden::capture {
namespace {

constexpr std::size_t kFileHeaderBytes = 24;
constexpr std::size_t kRecordHeaderBytes = 16;
constexpr std::size_t kPrefetchDistance = 8192;

}  // namespace

Status indexPcap(CaptureBuilder& builder) {
  std::span<const std::byte> data = builder.data();
  ByteReader header(data);
  std::uint32_t magic = *header.u32le();
  bool nanoseconds = magic == 0xa1b23c4d || magic == 0x4d3cb2a1;
  bool swapped = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
  header.setEndian(swapped ? Endian::kBig : Endian::kLittle);
  if (data.size() < kFileHeaderBytes) {
    return TruncatedError("pcap file header: need {} bytes, have {}", kFileHeaderBytes,
                          data.size());
  }
  std::uint16_t major = *header.u16();
  std::uint16_t minor = *header.u16();
  (void)*header.u32();  // thiszone: always 0 in practice, and ignored by libpcap
  (void)*header.u32();  // sigfigs
  std::uint32_t snaplen = *header.u32();
  std::uint32_t network = *header.u32();
  builder.setFormat(Format::kPcap, fmt::format("{}.{}", major, minor));
  if (major != 2) {
    return UnsupportedError("pcap file header: version {}.{} (only 2.x exists)", major, minor);
  }
  // The upper bits of the link-type field carry FCS information since libpcap 1.9.
  std::uint32_t iface = builder.addInterface(Interface{static_cast<std::uint16_t>(network & 0xffff),
                                                       snaplen,
                                                       {},
                                                       {},
                                                       0,
                                                       nanoseconds ? "1e-9" : "1e-6"});

  const std::uint32_t maxFrame = builder.options().maxFrameBytes;
  const std::int64_t fractionUnit = nanoseconds ? 1 : 1000;
  // A guess that avoids most regrowth: records are rarely under 64 bytes on average.
  builder.reserveFrames(data.size() / 256);
  std::size_t pos = kFileHeaderBytes;
  std::uint64_t longerThanSnaplen = 0;
  while (pos < data.size()) {
    std::size_t number = builder.frameCount() + 1;
    if (data.size() - pos < kRecordHeaderBytes) {
      return builder.stop(TruncatedError("record {} header at offset {}: need {} bytes, have {}",
                                         number, pos, kRecordHeaderBytes, data.size() - pos));
    }
    // Record headers are a dependent chain of loads one record apart; ask for the bytes a few
    // pages ahead so the sequential stream is in cache when the chain gets there.
    __builtin_prefetch(data.data() + std::min(pos + kPrefetchDistance, data.size() - 1));
    ByteReader record(data.subspan(pos, kRecordHeaderBytes), pos, header.endian());
    std::uint32_t seconds = *record.u32();
    std::uint32_t fraction = *record.u32();
    std::uint32_t captured = *record.u32();
    std::uint32_t wire = *record.u32();
    if (captured > maxFrame) {
      return builder.stop(
          MalformedError("record {} at offset {}: captured length {} exceeds the {}-byte limit",
                         number, pos, captured, maxFrame));
    }
    std::size_t body = pos + kRecordHeaderBytes;
    if (captured > data.size() - body) {
      return builder.stop(
          TruncatedError("record {} at offset {}: captured length {} but only {} bytes remain",
                         number, pos, captured, data.size() - body));
    }
    if (snaplen != 0 && captured > snaplen && longerThanSnaplen++ == 0) {
      if (builder.options().strict) {
        return MalformedError("record {} at offset {}: captured length {} exceeds the snaplen {}",
                              number, pos, captured, snaplen);
      }
    }
    builder.addFrame(FrameRecord{body,
                                 std::int64_t{seconds} * 1'000'000'000 + fraction * fractionUnit,
                                 captured, wire, iface});
    pos = body + captured;
  }
  if (longerThanSnaplen > 0) {
    builder.warn(MalformedError("{} frames are longer than the file's snaplen {}",
                                longerThanSnaplen, snaplen));
  }
  return Status();
}

}  // namespace warden::capture
