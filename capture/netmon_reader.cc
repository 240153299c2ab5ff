// Microsoft Network Monitor 2.x captures (.cap): a 128-byte header with the capture start time, a
// frame table of 32-bit file offsets, and records of a 16-byte header, the frame, and (2.1 and
// later) a trailer with the frame's media type (2.3 adds a UTC FILETIME). Metadata records (network
// info, DNS cache, ...) are not frames and are skipped, as Wireshark does.
#include <ctime>
#include <map>

#include "base/bytes.h"
#include "capture/builder.h"

namespace warden::capture {
namespace {

constexpr std::size_t kHeaderBytes = 128;
constexpr std::size_t kRecordHeaderBytes = 16;

// NetMon media types 0..9 as link types; 0 means "no link type", kept as unknown.
constexpr std::uint16_t kNoLinkType = 0xffff;
std::uint16_t linkTypeOfMedia(std::uint16_t media) {
  switch (media) {
    case 0:  // seen in NetMon 3.4 VPN captures holding Ethernet frames
    case 1:
      return link::kEthernet;
    case 2:
      return link::kTokenRing;
    case 3:
      return link::kFddi;
    case 6:
      return link::kIeee80211;  // NetMon's own 802.11 metadata header precedes the frame
    case 7:
    case 8:
    case 9:
      return link::kRaw;
    default:
      // 0xE000 + LINKTYPE: a pcap file converted by NetMon.
      if ((media & 0xf000) == 0xe000 && media < 0xe080) return media & 0x0fff;
      return kNoLinkType;
  }
}

bool isMetadataRecord(std::uint16_t media) { return media >= 0xfff0 || media == 0xffe0; }

}  // namespace

Status indexNetmon(CaptureBuilder& builder) {
  std::span<const std::byte> data = builder.data();
  if (data.size() < kHeaderBytes) {
    return TruncatedError("netmon header: need {} bytes, have {}", kHeaderBytes, data.size());
  }
  ByteReader header(data.subspan(4, kHeaderBytes - 4), 4);
  std::uint8_t minor = *header.u8();
  std::uint8_t major = *header.u8();
  std::uint16_t media = *header.u16();
  std::uint16_t year = *header.u16(), month = *header.u16();
  (void)*header.u16();  // day of week
  std::uint16_t day = *header.u16(), hour = *header.u16(), minute = *header.u16();
  std::uint16_t second = *header.u16(), millisecond = *header.u16();
  std::uint32_t tableOffset = *header.u32();
  std::uint32_t tableLength = *header.u32();
  builder.setFormat(Format::kNetmon, fmt::format("{}.{}", major, minor));
  if (major != 2) return UnsupportedError("netmon version {}.{} (2.x is supported)", major, minor);
  bool trailers = minor >= 1;
  std::size_t trailerBytes = minor == 1 ? 2 : minor == 2 ? 6 : minor >= 3 ? 15 : 0;

  if (tableLength % 4 != 0) {
    return MalformedError("netmon header: frame table length {} is not a multiple of 4",
                          tableLength);
  }
  if (tableOffset > data.size() || tableLength > data.size() - tableOffset) {
    return TruncatedError("netmon frame table at offset {} ({} bytes) runs past the end ({} bytes)",
                          tableOffset, tableLength, data.size());
  }

  // The header time is local time (a SYSTEMTIME); Wireshark converts it with mktime too.
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  tm.tm_isdst = -1;
  // A hostile header can hold any year: compute in 128 bits and saturate.
  __int128 startNs = static_cast<__int128>(std::mktime(&tm)) * 1'000'000'000 +
                     static_cast<__int128>(millisecond) * 1'000'000;

  // One interface per link type met, in order of first use.
  std::map<std::uint16_t, std::uint32_t> interfaceOfLink;
  auto interfaceFor = [&](std::uint16_t linkType) {
    auto [it, added] = interfaceOfLink.emplace(linkType, 0);
    if (added) {
      it->second =
          builder.addInterface(Interface{linkType, 0, {}, {}, 0, minor >= 3 ? "1e-7" : "1e-6"});
    }
    return it->second;
  };

  std::size_t entries = tableLength / 4;
  builder.reserveFrames(entries);
  ByteReader table(data.subspan(tableOffset, tableLength), tableOffset);
  const std::uint32_t maxFrame = builder.options().maxFrameBytes;
  for (std::size_t i = 0; i < entries; ++i) {
    std::uint32_t offset = *table.u32le();
    std::size_t number = builder.frameCount() + 1;
    if (offset > data.size() || data.size() - offset < kRecordHeaderBytes) {
      return builder.stop(TruncatedError(
          "frame table entry {}: record at offset {} has no room for its 16-byte header", i,
          offset));
    }
    ByteReader record(data.subspan(offset), offset);
    std::uint64_t deltaUs = *record.u64le();
    std::uint32_t wire = *record.u32le();
    std::uint32_t captured = *record.u32le();
    if (captured > maxFrame) {
      return builder.stop(
          MalformedError("record {} at offset {}: captured length {} exceeds the {}-byte limit",
                         number, offset, captured, maxFrame));
    }
    if (std::size_t{captured} + trailerBytes > record.remaining()) {
      return builder.stop(TruncatedError(
          "record {} at offset {}: {} captured bytes and a {}-byte trailer but {} bytes remain",
          number, offset, captured, trailerBytes, record.remaining()));
    }
    std::uint64_t frameOffset = record.position();
    (void)record.skip(captured);
    // NetMon stores microseconds, but the value is "multiplied by 10 and read as signed" (the
    // 64-bit wrap of the multiplication is part of the format, as Wireshark reads it).
    auto delta100ns = static_cast<std::int64_t>(deltaUs * 10);
    std::int64_t timestampNs =
        saturatedNanoseconds(startNs + static_cast<__int128>(delta100ns) * 100);
    std::uint16_t recordMedia = media;
    if (trailers) {
      recordMedia = *record.u16le();
      if (isMetadataRecord(recordMedia)) continue;
      if (minor >= 3) {
        (void)record.skip(4);  // process info index
        std::uint64_t filetime = *record.u64le();
        // 100 ns units since 1601-01-01 UTC.
        constexpr std::int64_t kEpochDifference = 11644473600LL;
        timestampNs = saturatedNanoseconds(
            (static_cast<__int128>(filetime / 10'000'000) - kEpochDifference) * 1'000'000'000 +
            static_cast<__int128>(filetime % 10'000'000) * 100);
      }
    }
    std::uint16_t linkType = linkTypeOfMedia(recordMedia);
    if (linkType == kNoLinkType) {
      return builder.stop(UnsupportedError("record {} at offset {}: media type {:#x} is not known",
                                           number, offset, recordMedia));
    }
    builder.addFrame(FrameRecord{frameOffset, timestampNs, captured, wire, interfaceFor(linkType)});
  }
  return Status();
}

}  // namespace warden::capture
