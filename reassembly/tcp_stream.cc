// TCP reassembly. Offsets are 64-bit positions in a direction's byte stream, computed from 32-bit
// sequence numbers relative to the next expected one, so wraparound is harmless. Delivered bytes
// pass through a ring of the last conflictWindow bytes, against which retransmissions are
// compared; out-of-order pieces wait in the heap until the hole before them fills or is skipped.
#include "reassembly/tcp_stream.h"

#include <algorithm>
#include <cstring>

namespace warden::reassembly {

std::string_view tcpFindingName(TcpFinding::Kind kind) {
  switch (kind) {
    case TcpFinding::Kind::kGap:
      return "gap";
    case TcpFinding::Kind::kConflict:
      return "retransmission with different bytes";
    case TcpFinding::Kind::kDataAfterFin:
      return "data after FIN";
    case TcpFinding::Kind::kMidStream:
      return "started mid-stream";
    case TcpFinding::Kind::kEvicted:
      return "evicted";
  }
  return "unknown";
}

std::optional<TcpSegment> tcpSegmentOf(std::span<const std::byte> frame,
                                       const decode::DecodedFrame& decoded, std::uint64_t number) {
  if (decoded.transport != decode::Layer::kTcp || decoded.ipFragment()) return std::nullopt;
  TcpSegment s;
  s.src = decoded.ipSrc();
  s.dst = decoded.ipDst();
  s.srcPort = decoded.tcp.srcPort;
  s.dstPort = decoded.tcp.dstPort;
  s.seq = decoded.tcp.seq;
  s.ack = decoded.tcp.ack;
  s.flags = decoded.tcp.flags;
  std::size_t start = std::min<std::size_t>(decoded.payloadOffset, frame.size());
  std::size_t length = std::min<std::size_t>(decoded.payloadLength, frame.size() - start);
  s.payload = frame.subspan(start, length);
  s.frame = number;
  return s;
}

TcpReassembler::TcpReassembler(Sink sink, TcpOptions options)
    : sink_(std::move(sink)),
      options_(options),
      heap_(custody::HeapOptions{.name = "tcp reassembly", .maxBytes = options.globalBudget}) {}

TcpReassembler::~TcpReassembler() = default;  // the heap frees every waiting piece

std::uint64_t TcpReassembler::offsetOf(const Direction& d, std::uint32_t seq) const {
  auto expected = static_cast<std::uint32_t>(d.base + d.next);
  auto delta = static_cast<std::int32_t>(seq - expected);
  std::int64_t offset = static_cast<std::int64_t>(d.next) + delta;
  return offset < 0 ? UINT64_MAX : static_cast<std::uint64_t>(offset);  // before the stream start
}

void TcpReassembler::deliver(Stream& s, int dir, std::uint64_t offset,
                             std::span<const std::byte> bytes, std::uint64_t frame) {
  Direction& d = s.directions[dir];
  if (bytes.empty()) return;
  sink_(Delivery{s.id, dir, offset, bytes, frame, arrival_, &s.sides[dir], &s.sides[1 - dir]});
  stats_.bytesDelivered += bytes.size();
  const std::size_t window = options_.conflictWindow;
  if (window != 0) {
    if (d.recent.size() != window) d.recent.assign(window, std::byte{0});
    std::size_t from = bytes.size() > window ? bytes.size() - window : 0;
    for (std::size_t i = from; i < bytes.size(); ++i) d.recent[(offset + i) % window] = bytes[i];
  }
  d.next = offset + bytes.size();
}

void TcpReassembler::checkConflict(Stream& s, int dir, std::uint64_t offset,
                                   std::span<const std::byte> bytes, std::uint64_t frame) {
  Direction& d = s.directions[dir];
  const std::size_t window = options_.conflictWindow;
  if (window == 0 || d.recent.empty()) return;
  std::uint64_t oldest = d.next > window ? d.next - window : 0;
  std::uint64_t differing = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::uint64_t at = offset + i;
    if (at >= d.next) break;
    if (at < oldest) continue;
    if (d.recent[at % window] != bytes[i]) ++differing;
  }
  if (differing != 0) {
    ++stats_.conflicts;
    findings_.push_back({TcpFinding::Kind::kConflict, s.id, dir, frame, offset, differing});
  }
}

void TcpReassembler::drain(Stream& s, int dir) {
  Direction& d = s.directions[dir];
  while (!d.waiting.empty() && d.waiting.begin()->first <= d.next) {
    auto it = d.waiting.begin();
    std::uint64_t offset = it->first;
    Piece piece = it->second;
    d.waiting.erase(it);
    d.waitingBytes -= piece.length;
    std::span<const std::byte> bytes(piece.bytes, piece.length);
    checkConflict(s, dir, offset, bytes, piece.frame);
    if (offset + piece.length > d.next) {
      std::size_t skip = d.next - offset;
      deliver(s, dir, d.next, bytes.subspan(skip), piece.frame);
    }
    release(piece);
  }
}

void TcpReassembler::skipGap(Stream& s, int dir, std::uint64_t frame) {
  Direction& d = s.directions[dir];
  if (d.waiting.empty()) return;
  std::uint64_t first = d.waiting.begin()->first;
  if (first > d.next) {
    ++stats_.gaps;
    stats_.gapBytes += first - d.next;
    findings_.push_back({TcpFinding::Kind::kGap, s.id, dir, frame, d.next, first - d.next});
    d.next = first;
  }
  drain(s, dir);
}

// The peer acknowledged direction `dir` up to `ack`. Bytes it acknowledged that the capture never
// showed were received and will not be sent again: a hole before that point is a gap now.
void TcpReassembler::acknowledged(Stream& s, int dir, std::uint32_t ack, std::uint64_t frame) {
  Direction& d = s.directions[dir];
  if (d.waiting.empty()) return;
  std::uint64_t acked = offsetOf(d, ack);
  if (acked == UINT64_MAX) return;
  while (!d.waiting.empty() && d.next < acked && d.waiting.begin()->first <= acked)
    skipGap(s, dir, frame);
}

void TcpReassembler::flushAll(Stream& s, int dir, std::uint64_t frame) {
  while (!s.directions[dir].waiting.empty()) skipGap(s, dir, frame);
}

void TcpReassembler::release(const Piece& piece) {
  auto held = std::lower_bound(heldFrames_.begin(), heldFrames_.end(),
                               std::pair<std::uint64_t, std::uint32_t>{piece.frame, 0});
  if (held != heldFrames_.end() && held->first == piece.frame) --held->second;
  while (!heldFrames_.empty() && heldFrames_.front().second == 0) heldFrames_.pop_front();
  if (piece.borrowed) {
    borrowed_ -= piece.length;
  } else {
    (void)heap_.free(const_cast<std::byte*>(piece.bytes));
  }
}

bool TcpReassembler::hold(Stream& s, int dir, std::uint64_t offset,
                          std::span<const std::byte> bytes, std::uint64_t frame, bool stable) {
  Direction& d = s.directions[dir];
  if (auto it = d.waiting.find(offset); it != d.waiting.end()) {
    // The same start again: compare what overlaps; keep the longer piece.
    Piece& old = it->second;
    std::size_t common = std::min<std::size_t>(old.length, bytes.size());
    if (std::memcmp(old.bytes, bytes.data(), common) != 0) {
      ++stats_.conflicts;
      findings_.push_back({TcpFinding::Kind::kConflict, s.id, dir, frame, offset, common});
    }
    if (old.length >= bytes.size()) {
      ++stats_.retransmissions;
      return true;
    }
    d.waitingBytes -= old.length;
    release(old);
    d.waiting.erase(it);
  }
  const std::byte* held = bytes.data();
  if (stable) {
    // Borrowed bytes count against the global budget as copies would.
    if (heap_.stats().liveBytes + borrowed_ + bytes.size() > options_.globalBudget) return false;
    borrowed_ += bytes.size();
  } else {
    void* copy = heap_.alloc(bytes.size());
    if (copy == nullptr) return false;
    std::memcpy(copy, bytes.data(), bytes.size());
    held = static_cast<const std::byte*>(copy);
  }
  d.waiting.emplace(offset, Piece{frame, static_cast<std::uint32_t>(bytes.size()), held, stable});
  if (heldFrames_.empty() || heldFrames_.back().first < frame) {
    heldFrames_.emplace_back(frame, 1);
  } else {
    auto at = std::lower_bound(heldFrames_.begin(), heldFrames_.end(),
                               std::pair<std::uint64_t, std::uint32_t>{frame, 0});
    if (at != heldFrames_.end() && at->first == frame) {
      ++at->second;
    } else {
      heldFrames_.insert(at, {frame, 1});  // frames added out of order: not a capture's
    }
  }
  d.waitingBytes += bytes.size();
  stats_.peakBuffered = std::max(stats_.peakBuffered, heap_.stats().liveBytes + borrowed_);
  return true;
}

void TcpReassembler::add(const TcpSegment& segment) {
  ++stats_.segments;
  arrival_ = segment.frame;
  Endpoint src{segment.src, segment.srcPort};
  Endpoint dst{segment.dst, segment.dstPort};
  // The ordered map keeps finish() in a stable order; the hash index finds a stream for each
  // segment without a dozen address comparisons.
  const std::pair<Endpoint, Endpoint> key = std::minmax(src, dst);
  Stream* found;
  if (auto hit = index_.find(key); hit != index_.end()) {
    found = hit->second;
  } else {
    found = &streams_.try_emplace(key).first->second;
    index_.emplace(key, found);
    found->id = stats_.streams++;
    found->sides[0] = src;
    found->sides[1] = dst;
  }
  Stream& s = *found;
  int dir = src == s.sides[0] ? 0 : 1;
  Direction& d = s.directions[dir];
  if (segment.flags & 0x10) acknowledged(s, 1 - dir, segment.ack, segment.frame);
  const bool syn = segment.flags & 0x02;
  const bool fin = segment.flags & 0x01;
  std::uint32_t dataSeq = syn ? segment.seq + 1 : segment.seq;  // SYN takes one number
  if (!d.started) {
    d.started = true;
    d.base = dataSeq;
    if (!syn) findings_.push_back({TcpFinding::Kind::kMidStream, s.id, dir, segment.frame, 0, 0});
  }
  std::uint64_t offset = offsetOf(d, dataSeq);
  std::span<const std::byte> bytes = segment.payload;
  if (offset == UINT64_MAX) {
    // Starts before the first byte we took: keep only what lies after it.
    auto before = static_cast<std::uint32_t>(d.base - dataSeq);
    if (before >= bytes.size()) {
      if (!bytes.empty()) ++stats_.retransmissions;
      bytes = {};
    } else {
      bytes = bytes.subspan(before);
    }
    offset = 0;
  }
  if (!bytes.empty()) {
    if (d.finSeen && offset + bytes.size() > d.finOffset) {
      findings_.push_back({TcpFinding::Kind::kDataAfterFin, s.id, dir, segment.frame, offset,
                           offset + bytes.size() - std::max(offset, d.finOffset)});
    }
    std::uint64_t end = offset + bytes.size();
    if (end <= d.next) {
      ++stats_.retransmissions;
      checkConflict(s, dir, offset, bytes, segment.frame);
    } else if (offset <= d.next) {
      checkConflict(s, dir, offset, bytes, segment.frame);
      deliver(s, dir, d.next, bytes.subspan(d.next - offset), segment.frame);
      drain(s, dir);
    } else if (!hold(s, dir, offset, bytes, segment.frame, segment.stable)) {
      // The global budget is spent: give up on this direction's holes and go on from here.
      ++stats_.evictions;
      findings_.push_back(
          {TcpFinding::Kind::kEvicted, s.id, dir, segment.frame, d.next, d.waitingBytes});
      flushAll(s, dir, segment.frame);
      if (offset > d.next) {
        ++stats_.gaps;
        stats_.gapBytes += offset - d.next;
        findings_.push_back(
            {TcpFinding::Kind::kGap, s.id, dir, segment.frame, d.next, offset - d.next});
        d.next = offset;
      }
      if (d.next < end) deliver(s, dir, d.next, bytes.subspan(d.next - offset), segment.frame);
    } else if (d.waitingBytes > options_.streamBudget) {
      ++stats_.evictions;
      findings_.push_back(
          {TcpFinding::Kind::kEvicted, s.id, dir, segment.frame, d.next, d.waitingBytes});
      flushAll(s, dir, segment.frame);
    }
  }
  if (fin && !d.finSeen) {
    d.finSeen = true;
    d.finOffset = offset + bytes.size();
  }
}

void TcpReassembler::finish() {
  arrival_ = 0;
  for (auto& [key, s] : streams_) {
    for (int dir = 0; dir < 2; ++dir) flushAll(s, dir, 0);
  }
}

}  // namespace warden::reassembly
