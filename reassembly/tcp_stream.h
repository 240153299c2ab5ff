// TCP stream reassembly, per direction: bytes are delivered in sequence order from the initial
// sequence number (or from the first segment seen, for a capture that starts mid-stream).
// Out-of-order segments wait in a bounded window; when the peer acknowledges bytes past a hole (it
// received what the capture missed, so they will not come again), when the window fills, or when
// the capture ends, the hole is reported as a gap and skipped instead of stalling. Retransmissions
// whose bytes differ from what was already taken are conflicts; data after FIN is flagged.
// Anomalies are findings with frame numbers, never errors. Buffered bytes live in one custody Heap
// whose quota is the global budget; a stream over its own budget, or any stream when the global one
// is hit, has its buffer flushed past the gap (counted as evicted).
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "custody/heap.h"
#include "decode/decoder.h"

namespace warden::reassembly {

struct TcpOptions {
  std::size_t streamBudget = std::size_t{4} << 20;    // out-of-order bytes one direction may hold
  std::size_t globalBudget = std::size_t{256} << 20;  // over every stream
  std::size_t conflictWindow = 64 << 10;  // delivered bytes kept to compare retransmissions with
};

// One TCP segment as found in a frame.
struct TcpSegment {
  decode::Address src, dst;
  std::uint16_t srcPort = 0, dstPort = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;    // with ACK set: the next byte the sender expects from its peer
  std::uint16_t flags = 0;  // FIN 0x01 SYN 0x02 RST 0x04 ACK 0x10
  std::span<const std::byte> payload;
  std::uint64_t frame = 0;
  // The payload outlives the reassembler (an expert's frame bytes stay valid until its run ends):
  // a segment that must wait behind a gap is held by reference, not copied.
  bool stable = false;
};

// The TCP segment in a decoded frame (first TCP header, not an IP fragment), if any.
std::optional<TcpSegment> tcpSegmentOf(std::span<const std::byte> frame,
                                       const decode::DecodedFrame& decoded, std::uint64_t number);

// One side of a TCP connection.
struct TcpEndpoint {
  decode::Address address;
  std::uint16_t port = 0;
  auto operator<=>(const TcpEndpoint&) const = default;
};

// Bytes delivered in order for one direction of one stream.
struct Delivery {
  std::uint64_t stream;  // 0, 1, 2... in order of first appearance
  int direction;         // 0: from the side seen first, 1: the other
  std::uint64_t offset;  // in the direction's byte stream (gaps included)
  std::span<const std::byte> bytes;
  std::uint64_t frame;      // the segment the bytes came in
  std::uint64_t arrival;    // the segment being added when they were delivered (0: finish())
  const TcpEndpoint* from;  // the sender and the receiver, valid during the call
  const TcpEndpoint* to;
};

struct TcpFinding {
  enum class Kind { kGap, kConflict, kDataAfterFin, kMidStream, kEvicted };
  Kind kind;
  std::uint64_t stream;
  int direction;
  std::uint64_t frame;
  std::uint64_t offset;  // stream offset it concerns
  std::uint64_t length;  // bytes concerned
};
std::string_view tcpFindingName(TcpFinding::Kind kind);

struct TcpStats {
  std::uint64_t streams = 0;
  std::uint64_t segments = 0;
  std::uint64_t bytesDelivered = 0;
  std::uint64_t gaps = 0;
  std::uint64_t gapBytes = 0;
  std::uint64_t retransmissions = 0;  // segments carrying only bytes already taken
  std::uint64_t conflicts = 0;
  std::uint64_t evictions = 0;
  std::size_t peakBuffered = 0;
};

class TcpReassembler {
 public:
  using Sink = std::function<void(const Delivery&)>;
  TcpReassembler(Sink sink, TcpOptions options = {});
  ~TcpReassembler();
  TcpReassembler(const TcpReassembler&) = delete;
  TcpReassembler& operator=(const TcpReassembler&) = delete;

  void add(const TcpSegment& segment);
  // Delivers whatever waits behind gaps, reporting them (the end of the capture).
  void finish();
  const TcpStats& stats() const { return stats_; }
  const std::vector<TcpFinding>& findings() const { return findings_; }
  // The lowest frame number whose bytes wait behind a gap (UINT64_MAX: none). Deliveries can name
  // no older frame than this, or the segment being added.
  std::uint64_t oldestHeldFrame() const {
    return heldFrames_.empty() ? UINT64_MAX : heldFrames_.front().first;
  }

 private:
  using Endpoint = TcpEndpoint;
  struct Piece {
    std::uint64_t frame;
    std::uint32_t length;
    const std::byte* bytes;  // in heap_, or the caller's when borrowed
    bool borrowed;
  };
  struct Direction {
    bool started = false;
    std::uint32_t base = 0;  // sequence number of stream offset 0
    std::uint64_t next = 0;  // next offset to deliver
    bool finSeen = false;
    std::uint64_t finOffset = 0;
    std::map<std::uint64_t, Piece> waiting;  // out of order, by offset
    std::size_t waitingBytes = 0;
    std::vector<std::byte> recent;  // the last delivered bytes, for conflict checks
  };
  struct Stream {
    std::uint64_t id;
    Endpoint sides[2];  // sides[0] was seen first: direction 0 is from it
    Direction directions[2];
  };

  std::uint64_t offsetOf(const Direction& d, std::uint32_t seq) const;
  void deliver(Stream& s, int dir, std::uint64_t offset, std::span<const std::byte> bytes,
               std::uint64_t frame);
  void drain(Stream& s, int dir);
  void skipGap(Stream& s, int dir, std::uint64_t frame);
  void acknowledged(Stream& s, int dir, std::uint32_t ack, std::uint64_t frame);
  void checkConflict(Stream& s, int dir, std::uint64_t offset, std::span<const std::byte> bytes,
                     std::uint64_t frame);
  void flushAll(Stream& s, int dir, std::uint64_t frame);
  bool hold(Stream& s, int dir, std::uint64_t offset, std::span<const std::byte> bytes,
            std::uint64_t frame, bool stable);
  void release(const Piece& piece);

  Sink sink_;
  TcpOptions options_;
  custody::Heap heap_;
  std::size_t borrowed_ = 0;  // bytes of stable segments held by reference
  struct KeyHash {
    std::size_t operator()(const std::pair<Endpoint, Endpoint>& k) const {
      auto word = [](const Endpoint& e, int i) {
        std::uint64_t w;
        std::memcpy(&w, e.address.bytes.data() + 8 * i, 8);
        return w;
      };
      std::uint64_t h =
          word(k.first, 0) * 0x9e3779b97f4a7c15u ^ word(k.first, 1) * 0xc2b2ae3d27d4eb4fu ^
          word(k.second, 0) * 0x165667b19e3779f9u ^ word(k.second, 1) * 0x27d4eb2f165667c5u ^
          (std::uint64_t{k.first.port} << 16 | k.second.port) * 0x9e3779b97f4a7c15u;
      return static_cast<std::size_t>(h ^ (h >> 29));
    }
  };
  std::map<std::pair<Endpoint, Endpoint>, Stream> streams_;  // key: (lower, higher) endpoint
  std::unordered_map<std::pair<Endpoint, Endpoint>, Stream*, KeyHash> index_;  // into streams_
  TcpStats stats_;
  std::vector<TcpFinding> findings_;
  std::uint64_t arrival_ = 0;  // frame of the segment add() is handling
  // (frame, pieces of it waiting), by frame; frames arrive in order, so this is a queue.
  std::deque<std::pair<std::uint64_t, std::uint32_t>> heldFrames_;
};

}  // namespace warden::reassembly
