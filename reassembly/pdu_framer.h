// Application PDUs out of reassembled TCP byte streams, for protocols that say how long their
// messages are: NetBIOS session service (SMB, SMB2; ports 139/445), connection-oriented DCE/RPC
// (frag_length), DNS over TCP (2-byte prefix) and HTTP/1.x (headers, then Content-Length, chunked
// encoding, or until the connection closes). Each direction's protocol is chosen from its port
// and its first bytes; a direction that is none of these passes unframed. A gap in the stream
// ends the PDU it cuts (reported incomplete) and the framer looks for a new PDU start at each
// later delivery, so one lost segment does not lose the rest of the stream.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <span>
#include <string_view>
#include <vector>

#include "reassembly/tcp_stream.h"

namespace warden::reassembly {

enum class PduProtocol : std::uint8_t { kNbss, kDcerpc, kDnsTcp, kHttpRequest, kHttpResponse };
std::string_view pduProtocolName(PduProtocol protocol);

struct Pdu {
  PduProtocol protocol;
  std::uint64_t stream;
  int direction;
  const TcpEndpoint* from;  // valid during the sink call
  const TcpEndpoint* to;
  std::uint64_t offset;                   // of its first byte in the direction's stream
  std::uint64_t length;                   // bytes the PDU has (or had when cut short)
  std::span<const std::byte> bytes;       // its first min(length, keepBytes) bytes
  std::span<const std::uint64_t> frames;  // frames that carried its bytes, in stream order
  std::uint64_t completedIn;              // the frame whose arrival completed it (or ended it)
  bool complete;                          // false: cut by a gap, or the capture ended inside it
  bool afterGap;  // found by looking for a new PDU start after a gap in its direction
};

struct FramerOptions {
  std::size_t keepBytes = 4096;          // of each PDU, handed to the sink
  std::size_t maxHttpHeader = 64 << 10;  // a longer header section is not HTTP: unframed
  std::vector<std::uint16_t> httpPorts = {80, 8080, 8000};  // HTTP is also found by content
};

struct FramerStats {
  std::uint64_t pdus = 0;
  std::uint64_t incomplete = 0;
  std::uint64_t resyncs = 0;  // PDU starts found again after a gap
};

class PduFramer {
 public:
  using Sink = std::function<void(const Pdu&)>;
  explicit PduFramer(Sink sink, FramerOptions options = {});
  ~PduFramer();
  PduFramer(const PduFramer&) = delete;
  PduFramer& operator=(const PduFramer&) = delete;

  // Bytes in stream order, as TcpReassembler delivers them.
  void add(const Delivery& delivery);
  // The capture ended: PDUs still open are emitted (HTTP bodies that run to the close complete).
  void finish();
  const FramerStats& stats() const { return stats_; }
  // The lowest frame number carrying bytes of a PDU still open whose length is, or is announced
  // as, at most maxLength (UINT64_MAX: none). Walks every stream: call it now and then.
  std::uint64_t oldestOpenFrame(std::uint64_t maxLength) const;

 private:
  enum class State : std::uint8_t {
    kUndecided,  // nothing seen yet
    kUnframed,   // not a protocol we frame
    kLost,       // after a gap: waiting for a delivery that starts a PDU
    kHeader,     // collecting a fixed-size or line-terminated header
    kBody,       // `remaining` bytes of body
    kChunkLine,  // HTTP chunk size line
    kChunkData,  // HTTP chunk bytes, then CRLF
    kTrailer,    // HTTP trailer lines up to the empty one
    kUntilClose  // HTTP body that ends with the connection
  };
  struct Direction {
    State state = State::kUndecided;
    PduProtocol protocol = PduProtocol::kNbss;
    std::uint64_t next = 0;   // next stream offset expected
    std::uint64_t start = 0;  // of the open PDU
    std::uint64_t length = 0;
    std::uint64_t remaining = 0;
    std::vector<std::byte> kept;  // first keepBytes of the open PDU
    std::vector<char> line;       // header or chunk line being collected
    std::vector<std::uint64_t> frames;
    std::uint64_t minFrame = UINT64_MAX;  // the lowest in frames (they are in stream order)
    bool afterGap = false;
    const TcpEndpoint* from = nullptr;
    const TcpEndpoint* to = nullptr;
  };
  struct Stream {
    Direction directions[2];
    std::deque<bool> headRequests;  // requests sent, oldest first: true for HEAD
  };

  bool choose(Direction& d, const Delivery& delivery);
  bool startsPdu(const Direction& d, std::span<const std::byte> bytes) const;
  void begin(Direction& d, std::uint64_t offset);
  void consume(Stream& s, Direction& d, int dir, std::span<const std::byte> bytes,
               std::uint64_t frame);
  std::size_t step(Stream& s, Direction& d, int dir, std::span<const std::byte> bytes);
  void emit(Direction& d, int dir, bool complete);
  bool headerDone(Stream& s, Direction& d);
  void take(Direction& d, std::span<const std::byte> bytes);

  Sink sink_;
  FramerOptions options_;
  std::map<std::uint64_t, Stream> streams_;
  std::uint64_t currentStream_ = 0;
  std::uint64_t currentFrame_ = 0;    // the delivery's segment
  std::uint64_t currentArrival_ = 0;  // the segment whose arrival made the delivery
  FramerStats stats_;
};

}  // namespace warden::reassembly
