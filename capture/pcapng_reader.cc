// pcapng: sections (each with its own byte order), interface description blocks with if_tsresol
// and if_tsoffset, enhanced/simple/obsolete packet blocks, comments on any block; name resolution,
// statistics, custom and unknown blocks are skipped by their length. Every length is checked
// against the bytes that remain before it is used.
#include <cstdint>
#include <vector>

#include "base/bytes.h"
#include "capture/builder.h"

namespace warden::capture {
namespace {

constexpr std::uint32_t kSectionHeader = 0x0a0d0d0a;
constexpr std::uint32_t kInterfaceDescription = 1;
constexpr std::uint32_t kObsoletePacket = 2;
constexpr std::uint32_t kSimplePacket = 3;
constexpr std::uint32_t kEnhancedPacket = 6;
constexpr std::uint32_t kByteOrderMagic = 0x1a2b3c4d;

constexpr std::uint16_t kOptEnd = 0;
constexpr std::uint16_t kOptComment = 1;
constexpr std::uint16_t kIfName = 2;
constexpr std::uint16_t kIfDescription = 3;
constexpr std::uint16_t kIfTsresol = 9;
constexpr std::uint16_t kIfTsoffset = 14;

// How an interface's timestamp units become nanoseconds.
struct Clock {
  bool binary = false;  // 2^-exponent seconds, else 10^-exponent
  std::uint8_t exponent = 6;
  std::int64_t offsetSeconds = 0;

  std::int64_t toNanoseconds(std::uint64_t units) const {
    __int128 ns;
    if (binary) {
      ns = (static_cast<__int128>(units) * 1'000'000'000) >> exponent;
    } else if (exponent <= 9) {
      __int128 scale = 1;
      for (int i = exponent; i < 9; ++i) scale *= 10;
      ns = static_cast<__int128>(units) * scale;
    } else {
      __int128 scale = 1;
      for (int i = 9; i < exponent; ++i) scale *= 10;
      ns = static_cast<__int128>(units) / scale;
    }
    ns += static_cast<__int128>(offsetSeconds) * 1'000'000'000;
    return saturatedNanoseconds(ns);
  }
};

std::string resolutionName(const Clock& clock) {
  return clock.binary ? fmt::format("2^-{}", clock.exponent) : fmt::format("1e-{}", clock.exponent);
}

struct Option {
  std::uint16_t code;
  std::span<const std::byte> value;
};

// Calls f(option) for each option until opt_endofopt or the end of the area.
template <typename F>
Status forEachOption(ByteReader options, F&& f) {
  while (options.remaining() >= 4) {
    std::uint16_t code = *options.u16();
    std::uint16_t length = *options.u16();
    if (code == kOptEnd) return Status();
    std::size_t padded = (std::size_t{length} + 3) & ~std::size_t{3};
    if (padded > options.remaining()) {
      return MalformedError("option {} at offset {}: length {} runs past its block", code,
                            options.position() - 4, length);
    }
    auto value = *options.bytes(padded);
    WARDEN_TRY(f(Option{code, value.first(length)}));
  }
  return Status();
}

std::string_view asText(std::span<const std::byte> value) {
  // Some writers include a terminating NUL in string options.
  std::string_view text(reinterpret_cast<const char*>(value.data()), value.size());
  while (!text.empty() && text.back() == '\0') text.remove_suffix(1);
  return text;
}

class PcapngIndexer {
 public:
  explicit PcapngIndexer(CaptureBuilder& builder) : builder_(builder), data_(builder.data()) {}

  Status run() {
    builder_.setFormat(Format::kPcapng, "1.0");
    builder_.reserveFrames(data_.size() / 256);
    std::size_t pos = 0;
    while (pos < data_.size()) {
      std::size_t remaining = data_.size() - pos;
      if (remaining < 12) {
        return builder_.stop(
            TruncatedError("block header at offset {}: need 12 bytes, have {}", pos, remaining));
      }
      ByteReader head(data_.subspan(pos, 12), pos, endian_);
      std::uint32_t type = *head.u32();
      if (type == kSectionHeader) {
        std::uint32_t magic = *ByteReader(data_.subspan(pos + 8, 4)).u32le();
        if (magic == kByteOrderMagic) {
          endian_ = Endian::kLittle;
        } else if (magic == byteSwap(kByteOrderMagic)) {
          endian_ = Endian::kBig;
        } else {
          return builder_.stop(MalformedError(
              "section header at offset {}: byte-order magic {:08x} is neither 1a2b3c4d nor "
              "4d3c2b1a",
              pos, magic));
        }
        head.setEndian(endian_);
      } else if (!inSection_) {
        return builder_.stop(MalformedError(
            "block at offset {}: the file does not start with a section header", pos));
      }
      std::uint32_t length = *head.u32();
      if (length < 12 || length % 4 != 0) {
        return builder_.stop(
            MalformedError("block of type {:#x} at offset {}: total length {} is not a multiple of "
                           "4 of at least 12",
                           type, pos, length));
      }
      if (length > remaining) {
        return builder_.stop(TruncatedError(
            "block of type {:#x} at offset {}: total length {} but only {} bytes remain", type, pos,
            length, remaining));
      }
      std::uint32_t trailer = *ByteReader(data_.subspan(pos + length - 4, 4), 0, endian_).u32();
      if (trailer != length) {
        return builder_.stop(MalformedError(
            "block of type {:#x} at offset {}: trailing length {} differs from the leading {}",
            type, pos, trailer, length));
      }
      ByteReader body(data_.subspan(pos + 8, length - 12), pos + 8, endian_);
      Status status = block(type, body);
      if (!status.ok()) {
        return builder_.stop(std::move(status).addContext(
            fmt::format("block of type {:#x} at offset {}", type, pos)));
      }
      pos += length;
    }
    return Status();
  }

 private:
  Status block(std::uint32_t type, ByteReader& body) {
    switch (type) {
      case kSectionHeader:
        return sectionHeader(body);
      case kInterfaceDescription:
        return interfaceDescription(body);
      case kEnhancedPacket:
        return enhancedPacket(body);
      case kSimplePacket:
        return simplePacket(body);
      case kObsoletePacket:
        return obsoletePacket(body);
      default:
        return Status();  // NRB, ISB, DSB, custom, unknown: not frames
    }
  }

  Status sectionHeader(ByteReader& body) {
    WARDEN_TRY(body.skip(4));  // byte-order magic, checked by run()
    WARDEN_ASSIGN_OR_RETURN(std::uint16_t major, body.u16());
    WARDEN_ASSIGN_OR_RETURN(std::uint16_t minor, body.u16());
    WARDEN_TRY(body.skip(8)) << "section length";
    if (major != 1) return UnsupportedError("pcapng version {}.{} (only 1.x exists)", major, minor);
    inSection_ = true;
    ++section_;
    sectionInterfaces_.clear();
    clocks_.clear();
    return forEachOption(body, [&](const Option& option) {
      if (option.code == kOptComment) builder_.addSectionComment(asText(option.value));
      return Status();
    });
  }

  Status interfaceDescription(ByteReader& body) {
    WARDEN_ASSIGN_OR_RETURN(std::uint16_t linkType, body.u16(), << "link type");
    WARDEN_TRY(body.skip(2));
    WARDEN_ASSIGN_OR_RETURN(std::uint32_t snaplen, body.u32(), << "snaplen");
    Interface iface{linkType, snaplen, {}, {}, section_ - 1, {}};
    Clock clock;
    WARDEN_TRY(forEachOption(body, [&](const Option& option) -> Status {
      switch (option.code) {
        case kIfName:
          iface.name = asText(option.value);
          break;
        case kIfDescription:
          iface.description = asText(option.value);
          break;
        case kIfTsresol: {
          if (option.value.size() != 1)
            return MalformedError("if_tsresol of {} bytes", option.value.size());
          auto v = static_cast<std::uint8_t>(option.value[0]);
          clock.binary = (v & 0x80) != 0;
          clock.exponent = v & 0x7f;
          if (clock.binary ? clock.exponent > 63 : clock.exponent > 18) {
            return MalformedError("if_tsresol {:#x} is beyond any clock", v);
          }
          break;
        }
        case kIfTsoffset: {
          if (option.value.size() != 8)
            return MalformedError("if_tsoffset of {} bytes", option.value.size());
          clock.offsetSeconds =
              static_cast<std::int64_t>(*ByteReader(option.value, 0, endian_).u64());
          break;
        }
        default:
          break;
      }
      return Status();
    }));
    iface.timestampResolution = resolutionName(clock);
    sectionInterfaces_.push_back(builder_.addInterface(std::move(iface)));
    clocks_.push_back(clock);
    return Status();
  }

  Result<std::uint32_t> interfaceFor(std::uint32_t local) const {
    if (local >= sectionInterfaces_.size()) {
      return MalformedError("refers to interface {}, but the section has described {}", local,
                            sectionInterfaces_.size());
    }
    return local;
  }

  Status packet(ByteReader& body, std::uint32_t local, std::uint64_t units, std::uint32_t captured,
                std::uint32_t wire, bool hasOptions) {
    if (captured > builder_.options().maxFrameBytes) {
      return MalformedError("captured length {} exceeds the {}-byte limit", captured,
                            builder_.options().maxFrameBytes);
    }
    std::size_t padded = (std::size_t{captured} + 3) & ~std::size_t{3};
    if (padded > body.remaining()) {
      return MalformedError("captured length {} runs past the block ({} bytes of body left)",
                            captured, body.remaining());
    }
    std::uint64_t offset = body.position();
    WARDEN_TRY(body.skip(padded));
    std::string_view comment;
    if (hasOptions) {
      WARDEN_TRY(forEachOption(body, [&](const Option& option) {
        if (option.code == kOptComment && comment.empty()) comment = asText(option.value);
        return Status();
      }));
    }
    builder_.addFrame(FrameRecord{offset, clocks_[local].toNanoseconds(units), captured, wire,
                                  sectionInterfaces_[local]},
                      comment);
    return Status();
  }

  Status enhancedPacket(ByteReader& body) {
    WARDEN_ASSIGN_OR_RETURN(std::uint32_t local, body.u32(), << "interface id");
    WARDEN_ASSIGN_OR_RETURN(std::uint32_t high, body.u32(), << "timestamp");
    WARDEN_ASSIGN_OR_RETURN(std::uint32_t low, body.u32(), << "timestamp");
    WARDEN_ASSIGN_OR_RETURN(std::uint32_t captured, body.u32(), << "captured length");
    WARDEN_ASSIGN_OR_RETURN(std::uint32_t wire, body.u32(), << "original length");
    WARDEN_TRY(interfaceFor(local).status()) << "enhanced packet";
    return packet(body, local, (std::uint64_t{high} << 32) | low, captured, wire, true);
  }

  Status obsoletePacket(ByteReader& body) {
    WARDEN_ASSIGN_OR_RETURN(std::uint16_t local, body.u16(), << "interface id");
    WARDEN_TRY(body.skip(2)) << "drops count";
    WARDEN_ASSIGN_OR_RETURN(std::uint32_t high, body.u32(), << "timestamp");
    WARDEN_ASSIGN_OR_RETURN(std::uint32_t low, body.u32(), << "timestamp");
    WARDEN_ASSIGN_OR_RETURN(std::uint32_t captured, body.u32(), << "captured length");
    WARDEN_ASSIGN_OR_RETURN(std::uint32_t wire, body.u32(), << "original length");
    WARDEN_TRY(interfaceFor(local).status()) << "packet block";
    return packet(body, local, (std::uint64_t{high} << 32) | low, captured, wire, true);
  }

  // A simple packet block has no timestamp and belongs to the section's first interface; its
  // captured length is the original length cut to that interface's snaplen.
  Status simplePacket(ByteReader& body) {
    WARDEN_ASSIGN_OR_RETURN(std::uint32_t wire, body.u32(), << "original length");
    WARDEN_TRY(interfaceFor(0).status()) << "simple packet";
    std::uint32_t snaplen = builder_.interface(sectionInterfaces_[0]).snaplen;
    std::uint32_t captured = snaplen != 0 && snaplen < wire ? snaplen : wire;
    std::size_t available = body.remaining();
    if (captured > available) captured = static_cast<std::uint32_t>(available);
    return packet(body, 0, 0, captured, wire, false);
  }

  CaptureBuilder& builder_;
  std::span<const std::byte> data_;
  Endian endian_ = Endian::kLittle;
  bool inSection_ = false;
  std::uint32_t section_ = 0;
  std::vector<std::uint32_t> sectionInterfaces_;  // section-local id -> Capture interface index
  std::vector<Clock> clocks_;                     // by section-local id
};

}  // namespace

Status indexPcapng(CaptureBuilder& builder) { return PcapngIndexer(builder).run(); }

}  // namespace warden::capture
