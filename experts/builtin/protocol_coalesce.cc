// Protocol Coalesce: writes a new capture (pcapng, or pcap with format=pcap) in which every IP
// fragment set is one reassembled datagram and every application PDU spread over several TCP
// segments (NBSS/SMB/SMB2, DCE/RPC, DNS over TCP, HTTP; see reassembly/pdu_framer) is one segment
// with rebuilt IP/TCP headers. Other frames are copied unchanged; each coalesced frame carries a
// comment naming its source frames. Two passes over the capture: the first reassembles and
// decides what can be coalesced (whole PDUs that start and end on segment boundaries, that no
// retransmission overlaps and that fit one IP datagram), the second copies frames and writes each
// coalesced frame where its last source frame was, gathering a PDU's bytes from its segments. The
// output file is registered with the run's ledger: if the run fails or is aborted, the host closes
// and deletes the partial file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
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

struct Config {
  std::uint32_t length;
  char out[kPathBytes];
  std::uint32_t pcapng;
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

// A TCP data segment as pass 1 saw it: its payload and the stream bytes it delivered.
struct SegmentInfo {
  std::uint32_t seq = 0;
  std::uint32_t payload = 0;
  std::uint32_t delivered = 0;
  std::uint64_t first = UINT64_MAX, end = 0;  // delivered stream range
  bool syn = false;
};

template <class K, class V, class H = std::hash<K>>
using HostMap = std::unordered_map<K, V, H, std::equal_to<K>, HostAllocator<std::pair<const K, V>>>;
template <class K, class H = std::hash<K>>
using HostSet = std::unordered_set<K, H, std::equal_to<K>, HostAllocator<K>>;

struct Counts {
  std::uint64_t framesIn = 0, framesOut = 0, datagrams = 0, pdus = 0;
  std::uint64_t incomplete = 0, tooLarge = 0, unaligned = 0, unsupportedLink = 0;
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
    if (auto* w = std::get_if<capture::PcapngWriter>(&writer_)) return w->fd();
    if (auto* w = std::get_if<capture::PcapWriter>(&writer_)) return w->fd();
    return -1;
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

// A PDU pass 1 decided to coalesce.
struct PlannedPdu {
  explicit PlannedPdu(WardenKey key) : frames(HostAllocator<std::uint64_t>(key)) {}
  std::uint32_t startSeq = 0;  // the TCP sequence number of its first byte
  std::uint32_t length = 0;
  std::uint64_t headers = 0;  // the segment whose headers the coalesced one takes (its last)
  std::uint64_t emitAt = 0;   // the last source to arrive: the coalesced frame goes there
  const char* kind = "";
  std::vector<std::uint64_t, HostAllocator<std::uint64_t>> frames;  // in stream order
};

// Where a source segment's payload goes.
struct Piece {
  std::uint32_t pdu;
  std::uint32_t offset;
};

// What pass 1 decides and pass 2 follows.
struct Plan {
  explicit Plan(WardenKey key)
      : pdus(HostAllocator<PlannedPdu>(key)),
        pieces(64, std::hash<std::uint64_t>{}, std::equal_to<std::uint64_t>{},
               HostAllocator<std::pair<const std::uint64_t, Piece>>(key)),
        fragments(64, std::hash<std::uint64_t>{}, std::equal_to<std::uint64_t>{},
                  HostAllocator<std::uint64_t>(key)) {}
  std::vector<PlannedPdu, HostAllocator<PlannedPdu>> pdus;
  HostMap<std::uint64_t, Piece> pieces;  // source segment frame -> its PDU
  HostSet<std::uint64_t> fragments;      // fragments of datagrams that will be rebuilt
};

// A frame by number, decoded; null when the host refuses (terminated).
const WardenFrameDescriptor* fetch(WardenKey key, std::uint64_t number, WardenFrameDescriptor& out,
                                   decode::DecodedFrame& d) {
  if (WardenGetFrame(key, WARDEN_FRAME_SPECIFIC, 0, static_cast<std::uint32_t>(number), nullptr,
                     &out) != WARDEN_OK)
    return nullptr;
  kit::decode(out, d);
  return &out;
}

// Pass 1: reassembles everything and decides. A PDU is coalesced when it is whole, spans several
// segments each wholly inside it (no retransmission overlap, no SYN: dropping them loses no other
// bytes), its link layer has no length of its own, and it fits one datagram under its last
// segment's headers. A datagram is rebuilt when its first fragment's headers allow it.
class Planner {
 public:
  Planner(WardenKey key, Plan& plan, Counts& counts)
      : key_(key),
        plan_(plan),
        counts_(counts),
        segments_(64, std::hash<std::uint64_t>{}, std::equal_to<std::uint64_t>{},
                  HostAllocator<std::pair<const std::uint64_t, SegmentInfo>>(key)),
        framer_([this](const reassembly::Pdu& p) { onPdu(p); },
                reassembly::FramerOptions{.keepBytes = 16}),
        tcp_([this](const reassembly::Delivery& d) { onDelivery(d); },
             reassembly::TcpOptions{.conflictWindow = 0}) {}

  bool frame(const WardenFrameDescriptor& f) {
    kit::decode(f, decoded_);
    std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(f.data), f.capturedLength);
    if (auto fragment = reassembly::fragmentOf(bytes, decoded_, f.frameNumber, f.timestampNs)) {
      if (auto datagram = defrag_.add(*fragment)) onDatagram(*datagram);
    } else if (auto segment = reassembly::tcpSegmentOf(bytes, decoded_, f.frameNumber)) {
      if (!segment->payload.empty()) {
        SegmentInfo& s = segments_[f.frameNumber];
        s.payload = static_cast<std::uint32_t>(segment->payload.size());
        s.syn = segment->flags & 0x02;
        s.seq = segment->seq;
      }
      segment->stable = true;  // frame bytes stay valid until the run ends
      tcp_.add(*segment);
    }
    return ok_;
  }
  bool finish() {
    tcp_.finish();
    framer_.finish();
    return ok_;
  }

 private:
  void onDatagram(const reassembly::Datagram& datagram) {
    if (datagram.frames.empty()) return;
    WardenFrameDescriptor first;
    decode::DecodedFrame d;
    if (fetch(key_, datagram.frames.front(), first, d) == nullptr) {
      ok_ = false;
      return;
    }
    auto rebuilt = reassembly::rebuildDatagram(
        {reinterpret_cast<const std::byte*>(first.data), first.capturedLength}, d,
        datagram.payload);
    if (!rebuilt.ok()) {
      ++counts_.unsupportedLink;
      return;
    }
    for (std::uint64_t f : datagram.frames) plan_.fragments.insert(f);
    ++counts_.datagrams;
  }

  void onDelivery(const reassembly::Delivery& d) {
    auto it = segments_.find(d.frame);
    if (it != segments_.end()) {
      it->second.delivered += static_cast<std::uint32_t>(d.bytes.size());
      it->second.first = std::min(it->second.first, d.offset);
      it->second.end = std::max<std::uint64_t>(it->second.end, d.offset + d.bytes.size());
    }
    framer_.add(d);
  }

  void onPdu(const reassembly::Pdu& p) {
    if (p.frames.size() >= 2) decide(p);
    // Segments wholly before the end of this PDU will not be asked about again.
    for (std::uint64_t f : p.frames) {
      auto it = segments_.find(f);
      if (it != segments_.end() && it->second.end <= p.offset + p.length) segments_.erase(it);
    }
  }

  void decide(const reassembly::Pdu& p) {
    if (!p.complete) {
      ++counts_.incomplete;
      return;
    }
    std::uint64_t emitAt = 0;
    for (std::uint64_t f : p.frames) {
      auto it = segments_.find(f);
      if (it == segments_.end() || it->second.syn || it->second.delivered != it->second.payload ||
          it->second.first < p.offset || it->second.end > p.offset + p.length ||
          plan_.pieces.count(f)) {
        ++counts_.unaligned;
        return;
      }
      emitAt = std::max(emitAt, f);
    }
    WardenFrameDescriptor last;
    decode::DecodedFrame d;
    if (fetch(key_, p.frames.back(), last, d) == nullptr) {
      ok_ = false;
      return;
    }
    if (!reassembly::rebuildableLink(d)) {
      ++counts_.unsupportedLink;
      return;
    }
    if (p.length > std::min(kMaxPdu, reassembly::maxSegmentPayload(d))) {
      ++counts_.tooLarge;
      return;
    }
    PlannedPdu planned(key_);
    planned.startSeq = segments_.find(p.frames.front())->second.seq;
    planned.length = static_cast<std::uint32_t>(p.length);
    planned.headers = p.frames.back();
    planned.emitAt = emitAt;
    planned.kind = pduKind(p.protocol);
    planned.frames.assign(p.frames.begin(), p.frames.end());
    auto index = static_cast<std::uint32_t>(plan_.pdus.size());
    for (std::uint64_t f : p.frames) {
      plan_.pieces[f] = {index,
                         static_cast<std::uint32_t>(segments_.find(f)->second.first - p.offset)};
    }
    plan_.pdus.push_back(std::move(planned));
    ++counts_.pdus;
  }

  WardenKey key_;
  Plan& plan_;
  Counts& counts_;
  bool ok_ = true;
  HostMap<std::uint64_t, SegmentInfo> segments_;
  decode::DecodedFrame decoded_;
  reassembly::Defragmenter defrag_;
  reassembly::PduFramer framer_;
  reassembly::TcpReassembler tcp_;
};

// Pass 2: copies frames, gathers each planned PDU's payload from its segments and writes the
// coalesced segment where its last source arrived; rebuilds the planned datagrams.
class Writer {
 public:
  Writer(WardenKey key, const Plan& plan, Counts& counts, Output& output, const std::string& path)
      : key_(key),
        plan_(plan),
        counts_(counts),
        output_(output),
        path_(path),
        buffers_(64, std::hash<std::uint32_t>{}, std::equal_to<std::uint32_t>{},
                 HostAllocator<std::pair<const std::uint32_t, Buffer>>(key)) {}

  bool frame(const WardenFrameDescriptor& f) {
    ++counts_.framesIn;
    std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(f.data), f.capturedLength);
    if (plan_.fragments.count(f.frameNumber)) {
      kit::decode(f, decoded_);
      auto fragment = reassembly::fragmentOf(bytes, decoded_, f.frameNumber, f.timestampNs);
      if (fragment) {
        if (auto datagram = defrag_.add(*fragment)) writeDatagram(f, *datagram);
      }
      return ok_;
    }
    auto piece = plan_.pieces.find(f.frameNumber);
    if (piece == plan_.pieces.end()) {
      // Frame bytes stay valid until the run ends, after the output is closed: the writer's
      // thread copies them, not this one.
      put(f.linkType, f.interfaceId, f.timestampNs, f.wireLength, bytes,
          f.comment ? std::string_view(f.comment) : std::string_view(), true);
      return ok_;
    }
    kit::decode(f, decoded_);
    auto segment = reassembly::tcpSegmentOf(bytes, decoded_, f.frameNumber);
    const PlannedPdu& pdu = plan_.pdus[piece->second.pdu];
    auto [it, fresh] = buffers_.try_emplace(piece->second.pdu, HostAllocator<std::byte>(key_));
    if (fresh) it->second.resize(pdu.length);
    if (segment && piece->second.offset + segment->payload.size() <= pdu.length) {
      std::memcpy(it->second.data() + piece->second.offset, segment->payload.data(),
                  segment->payload.size());
    }
    if (f.frameNumber == pdu.emitAt) {
      writePdu(f, pdu, it->second);
      buffers_.erase(it);
    }
    return ok_;
  }
  bool ok() const { return ok_; }
  // Units written; they must be every unit pass 1 planned, or source frames were dropped for
  // nothing.
  std::uint64_t written() const { return written_; }

 private:
  using Buffer = std::vector<std::byte, HostAllocator<std::byte>>;

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

  void putCoalesced(const WardenFrameDescriptor& at, const WardenFrameDescriptor& model,
                    const std::vector<std::byte>& bytes, const char* kind,
                    std::span<const std::uint64_t> frames) {
    std::string list = frameList(frames);
    put(model.linkType, model.interfaceId, at.timestampNs, 0, bytes,
        fmt::format("Warden coalesced {} from frames {}", kind, list), false);
    if (ok_ && !row_.text("Kind", kind)
                    .frame("Output frame", counts_.framesOut)
                    .count("Bytes", bytes.size())
                    .count("Source frames", frames.size())
                    .text("Sources", list.c_str())
                    .submit())
      ok_ = false;
  }

  void writeDatagram(const WardenFrameDescriptor& at, const reassembly::Datagram& datagram) {
    WardenFrameDescriptor first;
    decode::DecodedFrame d;
    if (fetch(key_, datagram.frames.front(), first, d) == nullptr) return fail("terminated");
    auto rebuilt = reassembly::rebuildDatagram(
        {reinterpret_cast<const std::byte*>(first.data), first.capturedLength}, d,
        datagram.payload);
    if (!rebuilt.ok()) return fail("coalesce: " + rebuilt.status().toString());
    putCoalesced(at, first, *rebuilt, datagram.version == 4 ? "IPv4 datagram" : "IPv6 datagram",
                 datagram.frames);
    ++written_;
  }

  void writePdu(const WardenFrameDescriptor& at, const PlannedPdu& pdu, const Buffer& payload) {
    WardenFrameDescriptor model;
    decode::DecodedFrame d;
    if (fetch(key_, pdu.headers, model, d) == nullptr) return fail("terminated");
    auto rebuilt = reassembly::rebuildSegment(
        {reinterpret_cast<const std::byte*>(model.data), model.capturedLength}, d, pdu.startSeq,
        payload);
    if (!rebuilt.ok()) return fail("coalesce: " + rebuilt.status().toString());
    putCoalesced(at, model, *rebuilt, pdu.kind, pdu.frames);
    ++written_;
  }

  WardenKey key_;
  const Plan& plan_;
  Counts& counts_;
  Output& output_;
  const std::string& path_;
  bool ok_ = true;
  std::uint64_t written_ = 0;
  HostMap<std::uint32_t, Buffer> buffers_;  // payloads being gathered, by PDU
  decode::DecodedFrame decoded_;
  reassembly::Defragmenter defrag_;
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
      "(options out=PATH, format=pcapng|pcap)",
      WARDEN_EXPERT_CONFIGURABLE | WARDEN_EXPERT_WRITES_CAPTURE);
}

int coalesceConfigure(WardenKey key, WardenExpertConfig** out, const WardenStartupInfo* startup,
                      std::uint32_t) {
  Config config{sizeof(Config), {}, 1};
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
    Plan plan(key);
    {
      Planner planner(key, plan, counts);
      if (!kit::forEachFrame(key, startup, 0,
                             [&](const WardenFrameDescriptor& f) { return planner.frame(f); }))
        return 0;
      if (!planner.finish()) return 0;
    }

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

    Writer writer(key, plan, counts, output, path);
    if (!kit::forEachFrame(key, startup, 0,
                           [&](const WardenFrameDescriptor& f) { return writer.frame(f); }))
      return 0;
    if (!writer.ok()) return 0;
    if (writer.written() != counts.datagrams + counts.pdus) {
      return kit::refuse(key, fmt::format("coalesce: {} units planned, {} written: the output "
                                          "would lose their frames, so it is not kept",
                                          counts.datagrams + counts.pdus, writer.written())
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
                   .count("Unsupported link", counts.unsupportedLink)
                   .submit()
               ? 1
               : 0;
  });
}

}  // namespace warden::experts::builtin
