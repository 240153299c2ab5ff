// pcap (libpcap's classic format): both byte orders, microsecond and nanosecond magic numbers.
// The 24-byte file header is followed by records of a 16-byte header and the captured bytes.
#include <cstdint>
#include <thread>
#include <vector>

#include "base/bytes.h"
#include "capture/builder.h"

namespace warden::capture {
namespace {

constexpr std::size_t kFileHeaderBytes = 24;
constexpr std::size_t kRecordHeaderBytes = 16;
constexpr std::size_t kPrefetchDistance = 8192;

// What a record header says, and whether it is an ordinary one: fits the limits, no longer than
// the snaplen, no longer than the frame was on the wire.
struct RecordHeader {
  std::uint32_t seconds, fraction, captured, wire;
};
RecordHeader readRecord(std::span<const std::byte> data, std::size_t pos, Endian endian) {
  ByteReader r(data.subspan(pos, kRecordHeaderBytes), pos, endian);
  return {*r.u32(), *r.u32(), *r.u32(), *r.u32()};
}
// The index entry of a record whose data starts at `body`.
FrameRecord entryOf(const RecordHeader& h, std::size_t body, std::int64_t fractionUnit,
                    std::uint32_t iface) {
  return FrameRecord{body, std::int64_t{h.seconds} * 1'000'000'000 + h.fraction * fractionUnit,
                     h.captured, h.wire, iface};
}

// The second half of a large capture, indexed by a second thread while the first half is: record
// headers are a chain of dependent loads, so two chains go about twice as fast. Where a record
// starts in the middle of the file is a guess (a run of plausible headers in a row); it is used
// only if the first half's own walk lands exactly on it, so a wrong guess costs time, never
// frames. The second thread stops at anything unusual and leaves it to the first.
class SecondHalf {
 public:
  SecondHalf(const CaptureBuilder& builder, Endian endian, std::uint32_t limit,
             std::int64_t fractionUnit, std::uint32_t iface)
      : data_(builder.data()), endian_(endian), limit_(limit), fractionUnit_(fractionUnit) {
    if (data_.size() < builder.options().parallelIndexBytes || data_.size() < 4096) return;
    std::size_t at = guess(data_.size() / 2);
    if (at == 0) return;
    start_ = at;
    thread_ = std::thread([this, &builder, iface] { walk(builder, iface); });
  }
  ~SecondHalf() {
    if (thread_.joinable()) thread_.join();
  }
  std::size_t start() const { return start_; }  // 0: no second half
  // Once the first half reached start(): its records, and where the first half goes on from.
  std::vector<FrameRecord>& records() {
    if (thread_.joinable()) thread_.join();
    return records_;
  }
  std::size_t end() const { return end_; }

 private:
  static constexpr int kChain = 16;                // plausible headers in a row
  static constexpr std::size_t kSearch = 1 << 20;  // bytes searched for a start
  static constexpr std::uint64_t kReleaseEvery = 4 << 20;

  bool ordinary(const RecordHeader& h) const {
    return h.captured <= limit_ && h.captured <= h.wire && h.wire <= (1u << 20) &&
           h.fraction < (fractionUnit_ == 1 ? 1'000'000'000u : 1'000'000u);
  }
  // The first offset at or after `from` where kChain ordinary records follow one another, each
  // within a day of the one before; 0 when there is none within kSearch.
  std::size_t guess(std::size_t from) const {
    const std::size_t last = std::min(from + kSearch, data_.size() - kRecordHeaderBytes);
    for (std::size_t at = from; at < last; ++at) {
      std::size_t pos = at;
      std::uint32_t seconds = 0;
      int n = 0;
      for (; n < kChain && data_.size() - pos >= kRecordHeaderBytes; ++n) {
        RecordHeader h = readRecord(data_, pos, endian_);
        if (!ordinary(h) || data_.size() - pos - kRecordHeaderBytes < h.captured) break;
        if (n > 0 && (h.seconds < seconds || h.seconds - seconds > 86'400)) break;
        seconds = h.seconds;
        pos += kRecordHeaderBytes + h.captured;
      }
      if (n == kChain) return at;
    }
    return 0;
  }
  void walk(const CaptureBuilder& builder, std::uint32_t iface) {
    records_.reserve((data_.size() - start_) / 256);
    std::size_t pos = start_;
    std::uint64_t released = start_;
    while (data_.size() - pos >= kRecordHeaderBytes) {
      __builtin_prefetch(data_.data() + std::min(pos + kPrefetchDistance, data_.size() - 1));
      RecordHeader h = readRecord(data_, pos, endian_);
      std::size_t body = pos + kRecordHeaderBytes;
      if (!ordinary(h) || h.captured > data_.size() - body) break;
      records_.push_back(entryOf(h, body, fractionUnit_, iface));
      pos = body + h.captured;
      if (pos >= released + kReleaseEvery) {  // resident memory stays flat here too
        builder.releaseBehind(released, pos);
        released = pos;
      }
    }
    end_ = pos;
  }

  std::span<const std::byte> data_;
  Endian endian_;
  std::uint32_t limit_;
  std::int64_t fractionUnit_;
  std::size_t start_ = 0, end_ = 0;
  std::vector<FrameRecord> records_;
  std::thread thread_;
};

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
  SecondHalf second(builder, header.endian(), snaplen != 0 ? std::min(snaplen, maxFrame) : maxFrame,
                    fractionUnit, iface);
  while (pos < data.size()) {
    if (pos == second.start()) {  // the guess was a record boundary: take what it read
      const std::vector<FrameRecord>& records = second.records();
      for (const FrameRecord& r : records) builder.addFrame(r);
      builder.countSecondThread(records.size());
      pos = second.end();
      if (pos >= data.size()) break;
    }
    std::size_t number = builder.frameCount() + 1;
    if (data.size() - pos < kRecordHeaderBytes) {
      return builder.stop(TruncatedError("record {} header at offset {}: need {} bytes, have {}",
                                         number, pos, kRecordHeaderBytes, data.size() - pos));
    }
    // Record headers are a dependent chain of loads one record apart; ask for the bytes a few
    // pages ahead so the sequential stream is in cache when the chain gets there.
    __builtin_prefetch(data.data() + std::min(pos + kPrefetchDistance, data.size() - 1));
    const RecordHeader h = readRecord(data, pos, header.endian());
    const std::uint32_t captured = h.captured;
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
    builder.addFrame(entryOf(h, body, fractionUnit, iface));
    pos = body + captured;
  }
  if (longerThanSnaplen > 0) {
    builder.warn(MalformedError("{} frames are longer than the file's snaplen {}",
                                longerThanSnaplen, snaplen));
  }
  return Status();
}

}  // namespace warden::capture
