// Capture: format recognition, frame lookup, and names for formats and link types.
#include "capture/capture.h"

#include <cstring>

#include "capture/builder.h"

namespace warden::capture {

std::string_view formatName(Format format) {
  switch (format) {
    case Format::kPcap:
      return "pcap";
    case Format::kPcapng:
      return "pcapng";
    case Format::kNetmon:
      return "netmon2";
  }
  return "unknown";
}

std::string linkTypeName(std::uint16_t linkType) {
  switch (linkType) {
    case link::kNull:
      return "BSD loopback";
    case link::kEthernet:
      return "Ethernet";
    case link::kTokenRing:
      return "Token Ring";
    case link::kFddi:
      return "FDDI";
    case link::kRaw:
      return "Raw IP";
    case link::kIeee80211:
      return "IEEE 802.11";
    case link::kLoop:
      return "OpenBSD loopback";
    case link::kLinuxSll:
      return "Linux cooked";
    case link::kIpv4:
      return "Raw IPv4";
    case link::kIpv6:
      return "Raw IPv6";
    case link::kNflog:
      return "NFLOG";
    case link::kLinuxSll2:
      return "Linux cooked v2";
    default:
      return fmt::format("linktype {}", linkType);
  }
}

Frame Capture::frame(std::size_t index) const {
  const FrameRecord& r = frames_[index];
  Frame f{index + 1,
          r.timestampNs,
          r.capturedLength,
          r.wireLength,
          r.interface,
          interfaces_[r.interface].linkType,
          data_.subspan(r.offset, r.capturedLength),
          {}};
  if (!comments_.empty()) {
    if (auto it = comments_.find(index); it != comments_.end()) f.comment = it->second;
  }
  return f;
}

namespace {

Status indexAny(CaptureBuilder& builder, const std::string& name) {
  std::span<const std::byte> data = builder.data();
  if (data.size() < 4) {
    return TruncatedError("{}: {} bytes is too short for any capture format", name, data.size());
  }
  std::uint32_t magic;
  std::memcpy(&magic, data.data(), 4);
  Status status;
  switch (magic) {
    case 0xa1b2c3d4:
    case 0xd4c3b2a1:
    case 0xa1b23c4d:
    case 0x4d3cb2a1:
      status = indexPcap(builder);
      break;
    case 0x0a0d0d0a:
      status = indexPcapng(builder);
      break;
    default:
      if (std::memcmp(data.data(), "GMBU", 4) == 0) {
        status = indexNetmon(builder);
      } else if (std::memcmp(data.data(), "RTSS", 4) == 0) {
        return UnsupportedError("{}: NetMon 1.x captures are not supported (2.x are)", name);
      } else {
        return UnsupportedError("{}: not a pcap, pcapng or NetMon 2.x capture (magic {:08x})", name,
                                magic);
      }
  }
  return std::move(status).addContext(name);
}

}  // namespace

Result<Capture> Capture::index(Capture capture, OpenOptions options) {
  CaptureBuilder builder(capture, options);
  WARDEN_TRY(indexAny(builder, capture.name_));
  // What the index pass still holds resident: the runs map again what they read.
  capture.release(0, capture.data_.size());
  return capture;
}

Result<Capture> Capture::fromBytes(std::span<const std::byte> bytes, std::string name,
                                   OpenOptions options) {
  Capture capture;
  capture.name_ = std::move(name);
  capture.data_ = bytes;
  return index(std::move(capture), options);
}

Result<Capture> Capture::open(const std::string& path, OpenOptions options) {
  WARDEN_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  auto mapping = std::make_unique<MappedFile>(std::move(file));
  Capture capture;
  capture.name_ = path;
  capture.data_ = mapping->bytes();
  capture.mapping_ = std::move(mapping);
  return index(std::move(capture), options);
}

}  // namespace warden::capture
