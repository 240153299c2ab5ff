// TCP Retransmit: every segment that sends again bytes (or a SYN/FIN) its connection had already
// sent in that direction, with the frame that first carried them and the delay, classified the way
// Wireshark 4.0's sequence analysis does (tcp_analyze_sequence_number), so the frames listed are
// exactly those `tshark -Y tcp.analysis.retransmission` shows. The rule, per segment carrying data
// or SYN/FIN whose sequence number is below the highest one seen in its direction (nextseq):
//   - not at all when it is a keep-alive (0 or 1 byte at nextseq-1), or a segment of more than one
//     byte starting at nextseq-1 (new data after a zero-window probe);
//   - fast retransmission: the other side sent >= 2 duplicate ACKs for exactly this sequence
//     number and its last ACK is less than 20 ms old;
//   - out-of-order (not a retransmission): less than the connection's first RTT (3 ms when the
//     handshake was not seen) after nextseq advanced, and not ending exactly at nextseq (a SYN or
//     FIN counting one);
//   - spurious retransmission: all of its bytes were already acknowledged by the other side;
//   - otherwise a retransmission.
// A SYN with a new ISN on a known address/port pair starts a new connection, as in tshark.
// Connection state lives in host memory (standard containers over the run's allocator).
#include <algorithm>
#include <cstring>
#include <deque>
#include <unordered_map>
#include <vector>

#include "experts/builtin/builtins.h"
#include "experts/builtin/expert_kit.h"

namespace warden::experts::builtin {

namespace {

using kit::HostAllocator;

constexpr std::uint16_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;
constexpr std::int64_t kFastWindowNs = 20'000'000;  // dup ACK to fast retransmission
constexpr std::int64_t kDefaultOooNs = 3'000'000;   // out-of-order window without an RTT
constexpr std::size_t kMaxUnacked = 1000;           // TCP_MAX_UNACKED_SEGMENTS

bool lt(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) < 0; }
bool le(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) <= 0; }
bool gt(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) > 0; }
// tshark subtracts times into an unsigned 64-bit value: a negative delta is "very long ago".
std::uint64_t since(std::int64_t now, std::int64_t then) {
  return static_cast<std::uint64_t>(now - then);
}

enum Analysis : std::uint32_t {
  kKeepAlive = 1,
  kZeroWindowProbe = 2,
  kFast = 4,
  kOutOfOrder = 8,
  kSpurious = 16,
  kRetransmission = 32,
};

struct Sent {
  std::uint64_t frame;
  std::uint32_t seq, nextseq;
  std::int64_t time;
};

struct Flow {
  explicit Flow(WardenKey key) : unacked(HostAllocator<Sent>(key)) {}
  bool baseSet = false;
  std::uint32_t base = 0;
  std::uint32_t nextseq = 0;
  std::uint64_t nextseqFrame = 0;
  std::int64_t nextseqTime = 0;
  std::uint32_t lastack = 0;
  std::int64_t lastackTime = 0;
  int dupacks = 0;
  std::uint32_t window = UINT32_MAX;
  std::uint32_t lastAnalysis = 0;
  std::deque<Sent, HostAllocator<Sent>> unacked;  // oldest first
};

struct Endpoint {
  decode::Address address;
  std::uint16_t port;
  auto operator<=>(const Endpoint&) const = default;
};

struct ConnectionKey {
  Endpoint low, high;
  bool operator==(const ConnectionKey&) const = default;
};

struct KeyHash {
  std::size_t operator()(const ConnectionKey& k) const {
    return kit::Hash()
        .add(k.low.address)
        .add(k.low.port)
        .add(k.high.address)
        .add(k.high.port)
        .value();
  }
};

// What the report says of one connection.
struct Tally {
  ConnectionKey key;
  std::uint64_t firstFrame = 0;
  std::uint64_t retransmissions = 0, fast = 0, spurious = 0, bytes = 0;
};

struct Connection {
  explicit Connection(WardenKey key) : flows{Flow(key), Flow(key)} {}
  Flow flows[2];  // [0]: from the higher endpoint (tshark's flow1 for direction >= 0)
  std::int64_t mruSyn = 0;
  std::int64_t firstRtt = 0;
  Tally tally;
};

using ConnectionMap =
    std::unordered_map<ConnectionKey, Connection, KeyHash, std::equal_to<ConnectionKey>,
                       HostAllocator<std::pair<const ConnectionKey, Connection>>>;

struct Segment {
  std::uint32_t seq, ack, seglen, window;
  std::uint16_t flags;
  std::int64_t time;
  std::uint64_t frame;
};

// tcp_analyze_sequence_number, the parts that decide retransmissions. Returns the Analysis bits.
std::uint32_t analyze(Connection& c, Flow& fwd, Flow& rev, const Segment& s) {
  std::uint32_t ta = 0;
  const std::uint16_t sfr = s.flags & (kSyn | kFin | kRst);
  if (!fwd.baseSet) {
    fwd.base = (s.flags & kSyn) ? s.seq : s.seq - 1;
    fwd.baseSet = true;
  }
  if (!rev.baseSet && (s.flags & kAck)) {
    rev.base = s.ack - 1;
    rev.baseSet = true;
  }
  bool probe = s.seglen == 1 && s.seq == fwd.nextseq && rev.window == 0;
  if (probe) {
    ta |= kZeroWindowProbe;
  } else {
    if ((s.seglen == 0 || s.seglen == 1) && s.seq == fwd.nextseq - 1 && sfr == 0) ta |= kKeepAlive;
    bool repeatsAck = s.seglen == 0 && s.seq == fwd.nextseq && s.ack == fwd.lastack && sfr == 0 &&
                      s.window == fwd.window;
    bool keepAliveAck = repeatsAck && s.window != 0 && (rev.lastAnalysis & kKeepAlive);
    bool probeAck = repeatsAck && s.window == 0 && (rev.lastAnalysis & kZeroWindowProbe);
    if (!keepAliveAck && !probeAck && repeatsAck && s.window != 0) ++fwd.dupacks;
  }
  if (s.ack != fwd.lastack) fwd.dupacks = 0;

  if ((s.seglen > 0 || (s.flags & (kSyn | kFin))) && !(ta & kKeepAlive)) {
    bool notAdvanced = fwd.nextseq != 0 && lt(s.seq, fwd.nextseq);
    if (s.seglen > 1 && fwd.nextseq - 1 == s.seq) notAdvanced = false;
    std::uint64_t oooWindow = c.firstRtt ? static_cast<std::uint64_t>(c.firstRtt) : kDefaultOooNs;
    if (notAdvanced && rev.dupacks >= 2 && rev.lastack == s.seq &&
        since(s.time, rev.lastackTime) < kFastWindowNs) {
      ta |= kFast;
    } else if (notAdvanced && since(s.time, fwd.nextseqTime) < oooWindow &&
               fwd.nextseq != s.seq + s.seglen + ((s.flags & (kSyn | kFin)) ? 1 : 0)) {
      ta |= kOutOfOrder;
    } else if (s.seglen > 0 && rev.lastack != 0 && le(s.seq + s.seglen, rev.lastack)) {
      ta |= kSpurious;
    } else if (notAdvanced) {
      ta |= kRetransmission;
    }
  }

  std::uint32_t nextseq = s.seq + s.seglen;
  if ((s.seglen || (s.flags & (kSyn | kFin))) && fwd.unacked.size() < kMaxUnacked) {
    if (s.flags & (kSyn | kFin)) nextseq += 1;
    fwd.unacked.push_back({s.frame, s.seq, nextseq, s.time});
  }
  if ((gt(nextseq, fwd.nextseq) || fwd.nextseq == 0) && !(ta & kZeroWindowProbe)) {
    fwd.nextseq = nextseq;
    fwd.nextseqFrame = s.frame;
    fwd.nextseqTime = s.time;
  }
  // Segments of the other direction this acknowledges leave its unacked list, oldest first (a
  // segment resent behind newer ones goes when those have gone: the list only names originals).
  while (!rev.unacked.empty()) {
    Sent& u = rev.unacked.front();
    if (gt(s.ack, u.seq) && lt(s.ack, u.nextseq)) u.seq = s.ack;
    if (s.ack != u.nextseq && gt(u.nextseq, s.ack)) break;
    rev.unacked.pop_front();
  }
  fwd.window = s.window;
  fwd.lastack = s.ack;
  fwd.lastackTime = s.time;
  fwd.lastAnalysis = ta;
  return ta;
}

const char* kindName(std::uint32_t ta) {
  return (ta & kFast)       ? "fast retransmission"
         : (ta & kSpurious) ? "spurious retransmission"
                            : "retransmission";
}

}  // namespace

int tcpretransRegister(WardenExpertInfo* info) {
  return kit::describe(
      info, "TCP Retransmit",
      "Every retransmitted TCP segment with the frame that first sent it and the delay, "
      "classified as retransmission, fast or spurious retransmission as tshark does",
      0);
}

int tcpretransRun(WardenKey key, const WardenExpertConfig*, const WardenStartupInfo* startup,
                  std::uint32_t) {
  return kit::guard(key, [&] {
    ConnectionMap connections(64, KeyHash{}, std::equal_to<ConnectionKey>{},
                              HostAllocator<std::pair<const ConnectionKey, Connection>>(key));
    decode::DecodedFrame d;
    std::uint64_t segments = 0, dataSegments = 0, outOfOrder = 0;
    std::uint64_t totals[3] = {0, 0, 0};  // retransmission, fast, spurious
    std::uint64_t retransmittedBytes = 0;
    std::vector<Tally, HostAllocator<Tally>> tallies{HostAllocator<Tally>(key)};
    auto keep = [&](const Tally& t) {
      if (t.retransmissions + t.fast + t.spurious != 0) tallies.push_back(t);
    };
    kit::Row row(key, 1, "TCP retransmission", WARDEN_SEVERITY_WARNING);
    bool ok = kit::forEachFrame(key, startup, 0, [&](const WardenFrameDescriptor& frame) {
      kit::decode(frame, d);
      if (d.transport != decode::Layer::kTcp || d.ipFragment()) return true;
      ++segments;
      if (d.tcp.len > 0) ++dataSegments;
      Endpoint src{d.ipSrc(), d.tcp.srcPort}, dst{d.ipDst(), d.tcp.dstPort};
      bool srcHigh = dst < src;  // tshark: direction >= 0 (source sorts after) is flow1
      ConnectionKey k{srcHigh ? dst : src, srcHigh ? src : dst};
      Segment s{d.tcp.seq,   d.tcp.ack,         d.tcp.len,        d.tcp.window,
                d.tcp.flags, frame.timestampNs, frame.frameNumber};
      auto [it, fresh] = connections.try_emplace(k, key);
      Connection* c = &it->second;
      Flow* fwd = &c->flows[srcHigh ? 0 : 1];
      if (!fresh && (s.flags & (kSyn | kAck)) == kSyn && fwd->baseSet && s.seq != fwd->base) {
        keep(c->tally);
        connections.erase(it);  // a new connection on a reused address/port pair
        c = &connections.try_emplace(k, key).first->second;
        fwd = &c->flows[srcHigh ? 0 : 1];
      }
      Tally& tally = c->tally;
      if (tally.firstFrame == 0) tally = {k, frame.frameNumber};
      Flow* rev = &c->flows[srcHigh ? 1 : 0];
      // The earliest unacknowledged transmission of this sequence number, before analysis
      // updates the lists. When the capture never saw one (the original was lost before the
      // capture point, as a queue drop is), the frame that first went past it, as tshark's
      // tcp.analysis.rto_frame.
      const Sent* original = nullptr;
      if (fwd->nextseq != 0 && lt(s.seq, fwd->nextseq)) {  // only a candidate needs it
        for (const Sent& u : fwd->unacked) {
          if (le(u.seq, s.seq) && lt(s.seq, u.nextseq)) {
            original = &u;
            break;
          }
        }
      }
      std::uint64_t originalFrame = original ? original->frame : fwd->nextseqFrame;
      std::int64_t originalTime = original ? original->time : fwd->nextseqTime;
      std::uint32_t relative = s.seq - (fwd->baseSet ? fwd->base : s.seq - 1);
      std::uint32_t ta = analyze(*c, *fwd, *rev, s);
      if ((s.flags & (kSyn | kAck)) == kSyn) c->mruSyn = s.time;
      if ((s.flags & (kSyn | kAck)) == kAck && c->mruSyn != 0 && c->firstRtt == 0)
        c->firstRtt = s.time - c->mruSyn;
      if (ta & kOutOfOrder) ++outOfOrder;
      if (!(ta & (kFast | kSpurious | kRetransmission))) return true;
      int kind = (ta & kFast) ? 1 : (ta & kSpurious) ? 2 : 0;
      ++totals[kind];
      ++(kind == 1 ? tally.fast : kind == 2 ? tally.spurious : tally.retransmissions);
      tally.bytes += s.seglen;
      retransmittedBytes += s.seglen;
      return row.at(frame.timestampNs)
          .frame("Frame", frame.frameNumber)
          .frame("Original", originalFrame)
          .yesNo("Original seen", original != nullptr)
          .text("Kind", kindName(ta))
          .address("Source", d.ipSrc())
          .u16("Src port", d.tcp.srcPort)
          .address("Destination", d.ipDst())
          .u16("Dst port", d.tcp.dstPort)
          .count("Seq", relative)
          .u32("Length", s.seglen)
          .f64("Delay (ms)", static_cast<double>(frame.timestampNs - originalTime) / 1e6)
          .submit();
    });
    if (!ok) return 0;
    for (const auto& entry : connections) keep(entry.second.tally);
    std::sort(tallies.begin(), tallies.end(),
              [](const Tally& a, const Tally& b) { return a.firstFrame < b.firstFrame; });
    kit::Row conn(key, 2, "Connection with retransmissions");
    for (const Tally& t : tallies) {
      if (!conn.frame("First frame", t.firstFrame)
               .address("Address A", t.key.low.address)
               .u16("Port A", t.key.low.port)
               .address("Address B", t.key.high.address)
               .u16("Port B", t.key.high.port)
               .count("Retransmissions", t.retransmissions)
               .count("Fast", t.fast)
               .count("Spurious", t.spurious)
               .count("Bytes resent", t.bytes)
               .submit())
        return 0;
    }
    std::uint64_t all = totals[0] + totals[1] + totals[2];
    kit::Row summary(key, 3, "Summary");
    return summary.count("TCP segments", segments)
                   .count("With data", dataSegments)
                   .count("Retransmitted", all)
                   .count("Fast", totals[1])
                   .count("Spurious", totals[2])
                   .count("Out of order", outOfOrder)
                   .count("Bytes resent", retransmittedBytes)
                   .f64("% of data segments",
                        dataSegments ? 100.0 * static_cast<double>(all) / dataSegments : 0.0)
                   .submit()
               ? 1
               : 0;
  });
}

}  // namespace warden::experts::builtin
