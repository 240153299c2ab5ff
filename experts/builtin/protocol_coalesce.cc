// Protocol Coalesce: writes a new capture (pcapng, or pcap with format=pcap) in which every IP
// fragment set is one reassembled datagram and every application PDU spread over several TCP
// segments (NBSS/SMB/SMB2, DCE/RPC, DNS over TCP, HTTP; see reassembly/pdu_framer) is one segment
// with rebuilt IP/TCP headers. Other frames are copied unchanged; each coalesced frame carries a
// comment naming its source frames. One pass over the capture: frames wait in a queue while
// reassembly may still claim them, and are written in their order once it cannot. The output
// file is registered with the run's ledger: if the run fails or is aborted, the host closes and
// deletes the partial file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>

#include "capture/writer.h"
#include "experts/builtin/builtins.h"
#include "experts/builtin/expert_kit.h"
#include "fmt/format.h"
#include "reassembly/ip_defrag.h"
#include "reassembly/pdu_framer.h"
#include "reassembly/rebuild.h"
#include "reassembly/tcp_stream.h"

namespace warden::experts::builtin {

namespace {

using kit::HostAllocator;

constexpr std::size_t kPathBytes = 1024;
constexpr std::size_t kMaxPdu = 65535 - 60 - 60;  // IPv4 and TCP headers at their largest
// Frame bytes held back, by default, while reassembly may still claim them.
constexpr std::uint64_t kDefaultHold = std::uint64_t{64} << 20;

struct Config {
  std::uint32_t length;
  char out[kPathBytes];
  std::uint32_t pcapng;
  std::uint64_t hold;
};

// What the ledger needs to undo a partial output: a duplicate of its descriptor and its path.
struct OutputGuard {
  int fd;
  char path[kPathBytes];
};
int removePartialOutput(void* context) {
  auto* g = static_cast<OutputGuard*>(context);
  // Only a regular file is ours to delete: out=/dev/stdout or a FIFO stays.
  struct stat st {};
  bool regular = fstat(g->fd, &st) == 0 && S_ISREG(st.st_mode);
  int rc = close(g->fd);
  if (regular && unlink(g->path) != 0) rc = -1;
  return rc == 0 ? 0 : 1;
}

template <class K, class V, class H = std::hash<K>>
using HostMap = std::unordered_map<K, V, H, std::equal_to<K>, HostAllocator<std::pair<const K, V>>>;

struct Counts {
  std::uint64_t framesIn = 0, framesOut = 0, datagrams = 0, pdus = 0;
  std::uint64_t incomplete = 0, tooLarge = 0, unaligned = 0, unsupportedLink = 0;
  std::uint64_t tooLate = 0;  // a source had been written before the unit was complete
};

// The output file, pcap or pcapng.
class Output {
 public:
  static Result<Output> open(const std::string& path, bool pcapng) {
    Output o;
    o.pcapng_ = pcapng;
    if (pcapng) {
      WARDEN_ASSIGN_OR_RETURN(auto w, capture::PcapngWriter::create(path, "warden coalesce"));
      o.writer_.emplace<capture::PcapngWriter>(std::move(w));
    }
    return o;
  }
  int fd() const {
    return withWriter(-1, [](const auto& w) { return w.fd(); });
  }
  // Bytes handed to the file, and how many of them its writer thread is done with.
  std::uint64_t bytesWritten() const {
    return withWriter(std::uint64_t{0}, [](const auto& w) { return w.bytesWritten(); });
  }
  std::uint64_t bytesDone() const {
    return withWriter(std::uint64_t{0}, [](const auto& w) { return w.bytesDone(); });
  }
  Status write(const std::string& path, std::uint32_t linkType, std::uint32_t interfaceId,
               std::int64_t time, std::uint32_t wireLength, std::span<const std::byte> bytes,
               std::string_view comment, bool stable) {
    capture::OutputFrame f{time, wireLength, bytes, 0, comment, stable};
    if (pcapng_) {
      auto& w = std::get<capture::PcapngWriter>(writer_);
      std::uint64_t k = static_cast<std::uint64_t>(interfaceId) << 32 | linkType;
      auto it = interfaces_.find(k);
      if (it == interfaces_.end()) {
        WARDEN_ASSIGN_OR_RETURN(std::uint32_t id,
                                w.addInterface(static_cast<std::uint16_t>(linkType)));
        it = interfaces_.emplace(k, id).first;
      }
      f.interface = it->second;
      return w.write(f);
    }
    if (std::holds_alternative<std::monostate>(writer_)) {
      WARDEN_ASSIGN_OR_RETURN(
          auto w, capture::PcapWriter::create(path, static_cast<std::uint16_t>(linkType)));
      writer_.emplace<capture::PcapWriter>(std::move(w));
      linkType_ = linkType;
    }
    if (linkType != linkType_)
      return UnsupportedError("a pcap file has one link type ({}), this frame has {}: use pcapng",
                              linkType_, linkType);
    return std::get<capture::PcapWriter>(writer_).write(f);
  }
  Status close() {
    if (auto* w = std::get_if<capture::PcapngWriter>(&writer_)) return w->close();
    if (auto* w = std::get_if<capture::PcapWriter>(&writer_)) return w->close();
    return Status();
  }

 private:
  // fn(writer), or `none` before the pcap writer exists (it opens at the first frame).
  template <class T, class Fn>
  T withWriter(T none, Fn fn) const {
    if (auto* w = std::get_if<capture::PcapngWriter>(&writer_)) return fn(*w);
    if (auto* w = std::get_if<capture::PcapWriter>(&writer_)) return fn(*w);
    return none;
  }

  bool pcapng_ = true;
  std::variant<std::monostate, capture::PcapWriter, capture::PcapngWriter> writer_;
  std::unordered_map<std::uint64_t, std::uint32_t> interfaces_;
  std::uint32_t linkType_ = 0;
};

std::string frameList(std::span<const std::uint64_t> frames) {
  fmt::memory_buffer out;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (i != 0) out.push_back(',');
    fmt::format_to(std::back_inserter(out), "{}", frames[i]);
  }
  return fmt::to_string(out);
}

const char* pduKind(reassembly::PduProtocol p) {
  return p == reassembly::PduProtocol::kNbss     ? "NBSS message"
         : p == reassembly::PduProtocol::kDcerpc ? "DCE/RPC fragment"
         : p == reassembly::PduProtocol::kDnsTcp ? "DNS message"
                                                 : "HTTP message";
}

// A frame by number, decoded; null when the host refuses (terminated).
const WardenFrameDescriptor* fetch(WardenKey key, std::uint64_t number, WardenFrameDescriptor& out,
                                   decode::DecodedFrame& d) {
  if (WardenGetFrame(key, WARDEN_FRAME_SPECIFIC, 0, static_cast<std::uint32_t>(number), nullptr,
                     &out) != WARDEN_OK)
    return nullptr;
  kit::decode(out, d);
  return &out;
}

// One input frame, waiting until its fate is known: copied unchanged, dropped as a source of a
// coalesced unit, or replaced by the unit (when it is the unit's last source to arrive).
struct Slot {
  enum class Fate : std::uint8_t { kCopy, kSource, kUnit };
  const std::byte* data = nullptr;  // the frame's bytes, valid until the run ends
  std::int64_t time = 0;
  std::uint64_t frame = 0;
  std::uint32_t captured = 0, wire = 0, linkType = 0, interfaceId = 0;
  // A TCP data segment's payload (payload 0: none) and the stream bytes it delivered.
  std::uint32_t payloadAt = 0, payload = 0, delivered = 0, seq = 0;
  std::uint64_t first = UINT64_MAX, end = 0;
  Fate fate = Fate::kCopy;
  bool syn = false;
  bool comment = false;  // its pcapng comment is the oldest in the comment queue
};

// A coalesced frame, written in place of the slot it belongs to.
struct Unit {
  explicit Unit(WardenKey key)
      : bytes(HostAllocator<std::byte>(key)), frames(HostAllocator<std::uint64_t>(key)) {}
  std::vector<std::byte, HostAllocator<std::byte>> bytes;
  std::vector<std::uint64_t, HostAllocator<std::uint64_t>> frames;  // its sources
  const char* kind = "";
  std::uint32_t linkType = 0, interfaceId = 0;  // of the frame whose headers it took
};

using HostString = std::basic_string<char, std::char_traits<char>, HostAllocator<char>>;

// One pass. Frames queue as slots while reassembly may still claim them: a slot is written once
// no TCP byte waiting behind a gap, no open PDU that could be coalesced and no fragment of an
// incomplete datagram comes from it or an earlier frame. A PDU is coalesced when it is whole,
// spans several segments each wholly inside it (no retransmission overlap, no SYN: dropping them
// loses no other bytes), its link layer has no length of its own, and it fits one datagram under
// its last segment's headers; the coalesced frame takes the place of its last source to arrive.
// A datagram is rebuilt when its first fragment's headers allow it, in place of the fragment
// that completed it.
class Coalescer {
 public:
  Coalescer(WardenKey key, Counts& counts, Output& output, const std::string& path,
            std::uint64_t hold)
      : key_(key),
        hold_(hold),
        counts_(counts),
        output_(output),
        path_(path),
        slots_(HostAllocator<Slot>(key)),
        comments_(HostAllocator<HostString>(key)),
        units_(64, std::hash<std::uint64_t>{}, std::equal_to<std::uint64_t>{},
               HostAllocator<std::pair<const std::uint64_t, Unit>>(key)),
        framer_([this](const reassembly::Pdu& p) { onPdu(p); },
                reassembly::FramerOptions{.keepBytes = 16}),
        tcp_([this](const reassembly::Delivery& d) { onDelivery(d); },
             reassembly::TcpOptions{.conflictWindow = 0}) {}

  bool frame(const WardenFrameDescriptor& f) {
    ++counts_.framesIn;
    Slot& slot = slots_.emplace_back();
    slot.data = reinterpret_cast<const std::byte*>(f.data);
    slot.time = f.timestampNs;
    slot.frame = f.frameNumber;
    slot.captured = f.capturedLength;
    slot.wire = f.wireLength;
    slot.linkType = f.linkType;
    slot.interfaceId = f.interfaceId;
    held_ += f.capturedLength;
    if (f.comment != nullptr && *f.comment != '\0') {
      comments_.emplace_back(f.comment, HostAllocator<char>(key_));
      slot.comment = true;
    }
    kit::decode(f, decoded_);
    std::span<const std::byte> bytes(slot.data, f.capturedLength);
    if (auto fragment = reassembly::fragmentOf(bytes, decoded_, f.frameNumber, f.timestampNs)) {
      if (auto datagram = defrag_.add(*fragment)) onDatagram(*datagram, slot);
    } else if (auto segment = reassembly::tcpSegmentOf(bytes, decoded_, f.frameNumber)) {
      if (!segment->payload.empty()) {
        slot.payloadAt = static_cast<std::uint32_t>(segment->payload.data() - bytes.data());
        slot.payload = static_cast<std::uint32_t>(segment->payload.size());
        slot.syn = segment->flags & 0x02;
        slot.seq = segment->seq;
      }
      segment->stable = true;  // frame bytes stay valid until the run ends
      tcp_.add(*segment);
    }
    // However long reassembly may wait, no more than hold_ bytes of frames wait with it: the
    // oldest are written as they are, and a unit that would have claimed one is not made.
    if (held_ > hold_) flush(0);
    if (++sinceFlush_ >= flushEvery_) {
      // Finding the horizon walks every stream: do it once per that many frames at least.
      sinceFlush_ = 0;
      flushEvery_ = std::max<std::uint64_t>(256, tcp_.stats().streams);
      defrag_.expireIdle(f.timestampNs);
      flush(std::min({tcp_.oldestHeldFrame(), framer_.oldestOpenFrame(kMaxPdu),
                      defrag_.oldestFrame(), std::uint64_t{f.frameNumber} + 1}));
      retain();
    }
    return ok_;
  }

  // The capture ended: what waits behind gaps is delivered, open PDUs end, every slot is written.
  bool finish() {
    tcp_.finish();
    framer_.finish();
    flush(UINT64_MAX);
    return ok_;
  }

  // Units written; they must be every unit decided on, or source frames were dropped for nothing.
  std::uint64_t written() const { return written_; }

 private:
  Slot* find(std::uint64_t frame) {
    if (slots_.empty() || frame < slots_.front().frame || frame > slots_.back().frame)
      return nullptr;
    if (slots_.back().frame == frame) return &slots_.back();
    // Numbers are consecutive unless a run filter skipped frames.
    std::uint64_t guess = frame - slots_.front().frame;
    if (guess < slots_.size() && slots_[guess].frame == frame) return &slots_[guess];
    auto it = std::lower_bound(slots_.begin(), slots_.end(), frame,
                               [](const Slot& s, std::uint64_t n) { return s.frame < n; });
    return it != slots_.end() && it->frame == frame ? &*it : nullptr;
  }

  // Claims `frames` as the sources of a unit written at `at`; false (and nothing claimed) when
  // one of them is gone or taken.
  bool claim(std::span<const std::uint64_t> frames, Slot& at, Unit&& unit) {
    for (std::uint64_t f : frames) {
      Slot* s = find(f);
      if (s == nullptr || s->fate != Slot::Fate::kCopy) return false;
    }
    for (std::uint64_t f : frames) find(f)->fate = Slot::Fate::kSource;
    at.fate = Slot::Fate::kUnit;
    unit.frames.assign(frames.begin(), frames.end());
    units_.emplace(at.frame, std::move(unit));
    return true;
  }

  void onDatagram(const reassembly::Datagram& datagram, Slot& at) {
    if (datagram.frames.empty()) return;
    WardenFrameDescriptor first;
    decode::DecodedFrame d;
    if (fetch(key_, datagram.frames.front(), first, d) == nullptr) return fail("terminated");
    auto rebuilt = reassembly::rebuildDatagram(
        {reinterpret_cast<const std::byte*>(first.data), first.capturedLength}, d,
        datagram.payload);
    if (!rebuilt.ok()) {
      ++counts_.unsupportedLink;
      return;
    }
    Unit unit(key_);
    unit.bytes.assign(rebuilt->begin(), rebuilt->end());
    unit.kind = datagram.version == 4 ? "IPv4 datagram" : "IPv6 datagram";
    unit.linkType = first.linkType;
    unit.interfaceId = first.interfaceId;
    if (!claim(datagram.frames, at, std::move(unit))) {
      ++counts_.tooLate;  // a fragment was written: it waited longer than the hold allows
      return;
    }
    ++counts_.datagrams;
  }

  void onDelivery(const reassembly::Delivery& d) {
    if (Slot* s = find(d.frame); s != nullptr && s->payload != 0) {
      s->delivered += static_cast<std::uint32_t>(d.bytes.size());
      s->first = std::min(s->first, d.offset);
      s->end = std::max<std::uint64_t>(s->end, d.offset + d.bytes.size());
    }
    framer_.add(d);
  }

  void onPdu(const reassembly::Pdu& p) {
    if (p.frames.size() < 2) return;
    if (!p.complete) {
      ++counts_.incomplete;
      return;
    }
    // Before looking at its segments: a PDU this long was not waited for.
    if (p.length > kMaxPdu) {
      ++counts_.tooLarge;
      return;
    }
    Slot* emitAt = nullptr;
    for (std::uint64_t f : p.frames) {
      Slot* s = find(f);
      if (s == nullptr && f <= writtenThrough_) {
        ++counts_.tooLate;
        return;
      }
      if (s == nullptr || s->payload == 0 || s->syn || s->delivered != s->payload ||
          s->first < p.offset || s->end > p.offset + p.length || s->fate != Slot::Fate::kCopy) {
        ++counts_.unaligned;
        return;
      }
      if (emitAt == nullptr || s->frame > emitAt->frame) emitAt = s;
    }
    WardenFrameDescriptor last;
    decode::DecodedFrame d;
    if (fetch(key_, p.frames.back(), last, d) == nullptr) return fail("terminated");
    if (!reassembly::rebuildableLink(d)) {
      ++counts_.unsupportedLink;
      return;
    }
    if (p.length > reassembly::maxSegmentPayload(d)) {
      ++counts_.tooLarge;
      return;
    }
    payload_.assign(p.length, std::byte{0});
    for (std::uint64_t f : p.frames) {
      const Slot& s = *find(f);
      std::uint64_t at = s.first - p.offset;
      if (at + s.payload <= p.length)
        std::memcpy(payload_.data() + at, s.data + s.payloadAt, s.payload);
    }
    auto rebuilt = reassembly::rebuildSegment(
        {reinterpret_cast<const std::byte*>(last.data), last.capturedLength}, d,
        find(p.frames.front())->seq, payload_);
    if (!rebuilt.ok()) return fail("coalesce: " + rebuilt.status().toString());
    Unit unit(key_);
    unit.bytes.assign(rebuilt->begin(), rebuilt->end());
    unit.kind = pduKind(p.protocol);
    unit.linkType = last.linkType;
    unit.interfaceId = last.interfaceId;
    claim(p.frames, *emitAt, std::move(unit));  // every source was checked above
    ++counts_.pdus;
  }

  // The frames still queued are read again when written, and the ones written are read once more
  // by the file's writer thread, which copies them: the host keeps them mapped until then.
  void retain() {
    const std::uint64_t done = output_.bytesDone();
    while (!inFlight_.empty() && inFlight_.front().second <= done) inFlight_.pop_front();
    std::uint64_t first = !inFlight_.empty() ? inFlight_.front().first
                          : !slots_.empty()  ? slots_.front().frame
                                             : 0;
    WardenRetainFrames(key_, static_cast<std::uint32_t>(first));
  }

  // Writes the slots of frames before `horizon`, in order, and then as many more as it takes to
  // hold no more than hold_ bytes.
  void flush(std::uint64_t horizon) {
    auto due = [&] { return !slots_.empty() && (slots_.front().frame < horizon || held_ > hold_); };
    if (!due()) return;
    inFlight_.emplace_back(slots_.front().frame, 0);
    while (due()) {
      const Slot& s = slots_.front();
      held_ -= s.captured;
      writtenThrough_ = s.frame;
      std::string_view comment;
      if (s.comment) comment = comments_.front();
      if (s.fate == Slot::Fate::kCopy) {
        // The writer's thread copies the frame's bytes, which outlive it.
        put(s.linkType, s.interfaceId, s.time, s.wire, {s.data, s.captured}, comment, true);
      } else if (s.fate == Slot::Fate::kUnit) {
        auto unit = units_.find(s.frame);
        putCoalesced(s.time, unit->second);
        units_.erase(unit);
      }
      if (s.comment) comments_.pop_front();
      slots_.pop_front();
    }
    inFlight_.back().second = output_.bytesWritten();
  }

  void fail(const std::string& why) {
    if (!ok_) return;
    ok_ = false;
    WardenIndicateStatus(key_, WARDEN_STATUS_PROBLEM, 0, why.c_str(), 0);
  }

  void put(std::uint32_t linkType, std::uint32_t interfaceId, std::int64_t time,
           std::uint32_t wireLength, std::span<const std::byte> bytes, std::string_view comment,
           bool stable) {
    if (!ok_) return;
    Status s =
        output_.write(path_, linkType, interfaceId, time, wireLength, bytes, comment, stable);
    if (!s.ok()) return fail(fmt::format("writing {}: {}", path_, s.toString()));
    ++counts_.framesOut;
  }

  void putCoalesced(std::int64_t time, const Unit& unit) {
    std::string list = frameList(unit.frames);
    put(unit.linkType, unit.interfaceId, time, 0, unit.bytes,
        fmt::format("Warden coalesced {} from frames {}", unit.kind, list), false);
    if (ok_ && !row_.text("Kind", unit.kind)
                    .frame("Output frame", counts_.framesOut)
                    .count("Bytes", unit.bytes.size())
                    .count("Source frames", unit.frames.size())
                    .text("Sources", list.c_str())
                    .submit())
      ok_ = false;
    ++written_;
  }

  WardenKey key_;
  const std::uint64_t hold_;
  Counts& counts_;
  Output& output_;
  const std::string& path_;
  bool ok_ = true;
  std::uint64_t written_ = 0;
  std::uint64_t held_ = 0;            // captured bytes of the queued slots
  std::uint64_t writtenThrough_ = 0;  // the last frame written
  // Batches of written frames the file's writer thread may still copy: (first frame, the output
  // offset the batch ends at).
  using Batch = std::pair<std::uint64_t, std::uint64_t>;
  std::deque<Batch, HostAllocator<Batch>> inFlight_{HostAllocator<Batch>(key_)};
  std::uint64_t sinceFlush_ = 0, flushEvery_ = 256;
  std::deque<Slot, HostAllocator<Slot>> slots_;                 // frames not yet written, in order
  std::deque<HostString, HostAllocator<HostString>> comments_;  // of slots, in order
  HostMap<std::uint64_t, Unit> units_;                          // by the frame whose slot they take
  // A PDU's bytes, gathered from its segments.
  std::vector<std::byte, HostAllocator<std::byte>> payload_{HostAllocator<std::byte>(key_)};
  decode::DecodedFrame decoded_;
  reassembly::Defragmenter defrag_;
  reassembly::PduFramer framer_;
  reassembly::TcpReassembler tcp_;
  kit::Row row_{key_, 1, "Coalesced"};
};

std::string defaultOutput(const char* capturePath) {
  std::string name = capturePath ? capturePath : "capture";
  if (auto slash = name.rfind('/'); slash != std::string::npos) name = name.substr(slash + 1);
  if (auto dot = name.rfind('.'); dot != std::string::npos && dot > 0) name.resize(dot);
  return name + "-coalesced";
}

}  // namespace

int coalesceRegister(WardenExpertInfo* info) {
  return kit::describe(
      info, "Protocol Coalesce",
      "Writes a new capture in which IP fragments are reassembled datagrams and "
      "NBSS/SMB, DCE/RPC, DNS and HTTP messages spread over TCP segments are one frame "
      "(options out=PATH, format=pcapng|pcap, hold=BYTES of frames held while reassembly "
      "decides, default 64 MiB)",
      WARDEN_EXPERT_CONFIGURABLE | WARDEN_EXPERT_WRITES_CAPTURE);
}

int coalesceConfigure(WardenKey key, WardenExpertConfig** out, const WardenStartupInfo* startup,
                      std::uint32_t) {
  Config config{sizeof(Config), {}, 1, kDefaultHold};
  char hold[24];
  if (WardenGetOption(key, "hold", hold, sizeof hold) == WARDEN_OK) {
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(hold, &end, 10);
    if (end == hold || *end != '\0' || errno != 0 || n == 0 || hold[0] == '-')
      return kit::refuse(key, "hold must be a number of bytes, at least 1");
    config.hold = n;
  }
  char format[16];
  if (WardenGetOption(key, "format", format, sizeof format) == WARDEN_OK) {
    std::string_view f = format;
    if (f != "pcapng" && f != "pcap") {
      return kit::refuse(key, "format must be pcapng or pcap");
    }
    config.pcapng = f == "pcapng";
  }
  std::uint32_t rc = WardenGetOption(key, "out", config.out, sizeof config.out);
  if (rc == WARDEN_ERR_BUFFER_TOO_SMALL) {
    return kit::refuse(key, "out: path too long");
  }
  if (rc != WARDEN_OK) {
    std::string path = defaultOutput(startup ? startup->capturePath : nullptr) +
                       (config.pcapng ? ".pcapng" : ".pcap");
    if (path.size() >= sizeof config.out) path.resize(sizeof config.out - 1);
    std::memcpy(config.out, path.c_str(), path.size() + 1);
  }
  return kit::handOver(key, config, out);
}

int coalesceRun(WardenKey key, const WardenExpertConfig* raw, const WardenStartupInfo* startup,
                std::uint32_t) {
  Config config{};
  if (raw == nullptr || raw->rawConfigLength != sizeof(Config)) {
    return kit::refuse(key, "not configured");
  }
  std::memcpy(&config, raw, sizeof config);
  config.out[kPathBytes - 1] = '\0';
  const std::string path = config.out;
  return kit::guard(key, [&] {
    Counts counts;
    auto opened = Output::open(path, config.pcapng != 0);
    if (!opened.ok()) {
      WardenIndicateStatus(key, WARDEN_STATUS_PROBLEM, 0, opened.status().toString().c_str(), 0);
      return 0;
    }
    Output output = std::move(*opened);
    // The pcap writer opens its file at the first frame; create it now so the guard holds it.
    int fd = output.fd() >= 0 ? dup(output.fd()) : open(path.c_str(), O_WRONLY | O_CREAT, 0644);
    auto* guard = static_cast<OutputGuard*>(WardenAllocMemory(key, sizeof(OutputGuard), nullptr));
    if (fd < 0 || guard == nullptr) {
      if (fd >= 0) close(fd);
      unlink(path.c_str());
      return 0;
    }
    guard->fd = fd;
    std::memcpy(guard->path, path.c_str(), path.size() + 1);
    WardenResource resource = 0;
    if (WardenRegisterResource(key, "coalesced capture (removed if the run fails)",
                               removePartialOutput, guard, &resource) != WARDEN_OK) {
      removePartialOutput(guard);
      return 0;
    }

    Coalescer coalescer(key, counts, output, path, config.hold);
    if (!kit::forEachFrame(key, startup, 0,
                           [&](const WardenFrameDescriptor& f) { return coalescer.frame(f); }))
      return 0;
    if (!coalescer.finish()) return 0;
    if (coalescer.written() != counts.datagrams + counts.pdus) {
      return kit::refuse(key, fmt::format("coalesce: {} units made, {} written: the output "
                                          "would lose their frames, so it is not kept",
                                          counts.datagrams + counts.pdus, coalescer.written())
                                  .c_str());
    }
    if (Status s = output.close(); !s.ok()) {
      WardenIndicateStatus(key, WARDEN_STATUS_PROBLEM, 0, s.toString().c_str(), 0);
      return 0;
    }
    // Done: the file stays. Close the guard's duplicate and forget the closer.
    close(guard->fd);
    WardenReleaseResource(key, resource, 0);
    WardenFreeMemory(key, guard);
    kit::Row summary(key, 2, "Coalesce summary");
    return summary.text("Output", path.c_str())
                   .count("Frames in", counts.framesIn)
                   .count("Frames out", counts.framesOut)
                   .count("Datagrams", counts.datagrams)
                   .count("PDUs", counts.pdus)
                   .count("Incomplete", counts.incomplete)
                   .count("Too large", counts.tooLarge)
                   .count("Sharing segments", counts.unaligned)
                   .count("Waited too long", counts.tooLate)
                   .count("Unsupported link", counts.unsupportedLink)
                   .submit()
               ? 1
               : 0;
  });
}

}  // namespace warden::experts::builtin
