// Capture: an opened pcap, pcapng or NetMon 2.x file, mapped read-only and indexed once, so frame N
// is an O(1) lookup that returns a view into the mapping. Bad input never crashes or allocates
// without bound: in strict mode it is an error naming the file, byte offset and field; otherwise
// reading stops at the last good frame and the reason is kept as a warning.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "capture/mapped_file.h"

namespace warden::capture {

enum class Format : std::uint8_t { kPcap, kPcapng, kNetmon };
std::string_view formatName(Format format);

// Link-layer header types (the LINKTYPE_ values pcap and pcapng store).
namespace link {
inline constexpr std::uint16_t kNull = 0;  // BSD loopback: 4-byte host-order address family
inline constexpr std::uint16_t kEthernet = 1;
inline constexpr std::uint16_t kTokenRing = 6;
inline constexpr std::uint16_t kFddi = 10;
inline constexpr std::uint16_t kRaw = 101;  // raw IPv4 or IPv6
inline constexpr std::uint16_t kIeee80211 = 105;
inline constexpr std::uint16_t kLoop = 108;  // OpenBSD loopback: network-order family
inline constexpr std::uint16_t kLinuxSll = 113;
inline constexpr std::uint16_t kIpv4 = 228;
inline constexpr std::uint16_t kIpv6 = 229;
inline constexpr std::uint16_t kNflog = 239;
inline constexpr std::uint16_t kLinuxSll2 = 276;
}  // namespace link
// "Ethernet", "Linux cooked v2", ... or "linktype N".
std::string linkTypeName(std::uint16_t linkType);

struct Interface {
  std::uint16_t linkType = link::kEthernet;
  std::uint32_t snaplen = 0;  // 0: not limited / not recorded
  std::string_view name;      // pcapng if_name (a view into the file)
  std::string_view description;
  std::uint32_t section = 0;        // pcapng section (0 for other formats)
  std::string timestampResolution;  // "1e-6", "1e-9", "2^-20", ...
};

// One frame's place in the file; 32 bytes each, so a 10M-frame file indexes in 320 MB... of which
// nothing is copied from the file itself.
struct FrameRecord {
  std::uint64_t offset;      // first byte of the frame's data in the file
  std::int64_t timestampNs;  // nanoseconds since 1970-01-01 UTC
  std::uint32_t capturedLength;
  std::uint32_t wireLength;
  std::uint32_t interface;  // index into Capture::interfaces()
  std::uint32_t reserved = 0;
};
static_assert(sizeof(FrameRecord) == 32);

struct Frame {
  std::uint64_t number;  // 1-based, as Wireshark numbers frames
  std::int64_t timestampNs;
  std::uint32_t capturedLength;
  std::uint32_t wireLength;
  std::uint32_t interface;
  std::uint16_t linkType;
  std::span<const std::byte> bytes;  // capturedLength bytes, a view into the mapping
  std::string_view comment;          // the first opt_comment of the frame's block, if any
};

struct OpenOptions {
  // Strict: the first problem is an error. Lenient (default): stop at the last good frame and keep
  // the reason in warnings(), as tshark and capinfos do.
  bool strict = false;
  // A frame longer than this is malformed (Wireshark's limit for ordinary link types).
  std::uint32_t maxFrameBytes = 262144;
  // A pcap file at least this large is indexed by two threads, the second from a record boundary
  // it finds near the middle (used only when the first thread's walk lands on it exactly).
  std::size_t parallelIndexBytes = std::size_t{32} << 20;
};

class Capture {
 public:
  // Maps and indexes a file; the format is recognised by its magic number, not its name.
  static Result<Capture> open(const std::string& path, OpenOptions options = {});
  // Indexes bytes the caller keeps alive for the Capture's lifetime (tests, fuzzers, pipes).
  static Result<Capture> fromBytes(std::span<const std::byte> bytes, std::string name,
                                   OpenOptions options = {});

  Capture(Capture&&) noexcept = default;
  Capture& operator=(Capture&&) noexcept = default;

  const std::string& name() const { return name_; }
  Format format() const { return format_; }
  // "2.4", "1.0", "2.1": the file format version.
  const std::string& version() const { return version_; }
  std::uint64_t fileSize() const { return data_.size(); }
  std::span<const Interface> interfaces() const { return interfaces_; }
  std::size_t frameCount() const { return frames_.size(); }
  std::span<const FrameRecord> records() const { return frames_; }
  // Frame `index` (0-based; its number is index + 1). Precondition: index < frameCount().
  Frame frame(std::size_t index) const;
  // A hint for sequential readers: start loading the first bytes of frame `index` (any value;
  // out of range is ignored). Walking frame i while prefetching i + 4 hides most of the memory
  // latency of a capture larger than the caches.
  void prefetch(std::size_t index) const {
    if (index >= frames_.size()) return;
    // The headers every expert reads (Ethernet, IP, TCP with options: 66 bytes and more) often
    // reach into the next cache line.
    const std::byte* at = data_.data() + frames_[index].offset;
    __builtin_prefetch(at);
    __builtin_prefetch(at + 64);
  }
  // Lets go of the resident pages of file bytes [from, to) (a mapped file; no-op otherwise). Frames
  // there stay readable, at the cost of mapping them again. Any thread.
  void release(std::uint64_t from, std::uint64_t to) const {
    if (mapping_) mapping_->release(from, to);
  }
  // Frames a second indexing thread read (OpenOptions::parallelIndexBytes); 0 for one thread.
  std::size_t secondThreadFrames() const { return secondThreadFrames_; }
  // Problems that ended reading early in lenient mode, and oddities worth telling the user.
  const std::vector<Status>& warnings() const { return warnings_; }
  // pcapng section comments (shb opt_comment), in file order.
  const std::vector<std::string_view>& sectionComments() const { return sectionComments_; }

 private:
  friend class CaptureBuilder;
  Capture() = default;
  static Result<Capture> index(Capture capture, OpenOptions options);

  std::string name_;
  Format format_ = Format::kPcap;
  std::string version_;
  std::unique_ptr<MappedFile> mapping_;  // null when the bytes belong to the caller
  std::span<const std::byte> data_;
  std::vector<Interface> interfaces_;
  std::vector<FrameRecord> frames_;
  std::unordered_map<std::size_t, std::string_view> comments_;  // frame index -> opt_comment
  std::vector<Status> warnings_;
  std::size_t secondThreadFrames_ = 0;
  std::vector<std::string_view> sectionComments_;
};

}  // namespace warden::capture
