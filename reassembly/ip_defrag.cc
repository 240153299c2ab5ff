// Defragmentation: pieces are kept as they arrive; completion is checked when the last fragment
// is known and the pieces cover [0, total). The payload is then laid down piece by piece (in
// offset order for kLowestOffset, else in arrival order), each byte kept from the first piece that
// covers it, or for kLastWins overwritten by each later one; a covered byte two pieces disagree on
// marks a conflict.
#include "reassembly/ip_defrag.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "base/bytes.h"

namespace warden::reassembly {

namespace {
constexpr std::uint32_t kMaxIpPayload = 65535;  // IPv4 total length and IPv6 payload length cap
}  // namespace

std::string_view policyName(OverlapPolicy policy) {
  switch (policy) {
    case OverlapPolicy::kLowestOffset:
      return "lowest offset";
    case OverlapPolicy::kFirstWins:
      return "first";
    case OverlapPolicy::kLastWins:
      return "last";
  }
  return "unknown";
}

std::string_view findingName(DefragFinding::Kind kind) {
  switch (kind) {
    case DefragFinding::Kind::kOverlapConflict:
      return "overlap conflict";
    case DefragFinding::Kind::kTimeout:
      return "timeout";
    case DefragFinding::Kind::kEvicted:
      return "evicted";
    case DefragFinding::Kind::kOversize:
      return "oversize";
    case DefragFinding::Kind::kTooManyFragments:
      return "too many fragments";
  }
  return "unknown";
}

std::optional<Fragment> fragmentOf(std::span<const std::byte> frame,
                                   const decode::DecodedFrame& decoded, std::uint64_t number,
                                   std::int64_t timestampNs) {
  const decode::LayerSpan* ip = nullptr;
  for (std::size_t i = 0; i < decoded.layerCount; ++i) {
    decode::Layer layer = decoded.layers[i].layer;
    if (layer == decode::Layer::kIpv4 || layer == decode::Layer::kIpv6) {
      ip = &decoded.layers[i];
      break;
    }
  }
  if (ip == nullptr) return std::nullopt;
  Fragment f;
  f.frame = number;
  f.timestampNs = timestampNs;
  if (ip->layer == decode::Layer::kIpv4) {
    const decode::Ipv4Fields& v4 = decoded.ipv4;
    if (!v4.moreFragments && v4.fragmentOffset == 0) return std::nullopt;
    std::size_t start = ip->offset + ip->length;
    std::size_t end = std::min<std::size_t>(frame.size(), ip->offset + v4.totalLength);
    if (end < start) return std::nullopt;
    f.version = 4;
    f.src = v4.src;
    f.dst = v4.dst;
    f.protocol = v4.proto;
    f.id = v4.id;
    f.offset = v4.fragmentOffset;
    f.moreFragments = v4.moreFragments;
    f.payload = frame.subspan(start, end - start);
    return f;
  }
  const decode::Ipv6Fields& v6 = decoded.ipv6;
  if (!v6.fragment) return std::nullopt;
  // Walk the extension headers again to find where the fragment header ends.
  std::size_t pos = ip->offset + 40;
  std::size_t end = std::min<std::size_t>(frame.size(), pos + v6.payloadLength);
  std::uint8_t next = static_cast<std::uint8_t>(frame[ip->offset + 6]);
  for (int guard = 0; guard < 16 && pos + 8 <= end; ++guard) {
    std::uint8_t following = static_cast<std::uint8_t>(frame[pos]);
    if (next == 44) {
      f.version = 6;
      f.src = v6.src;
      f.dst = v6.dst;
      f.protocol = following;
      f.id = v6.fragmentId;
      f.offset = v6.fragmentOffset;
      f.moreFragments = v6.moreFragments;
      f.payload = frame.subspan(pos + 8, end - (pos + 8));
      return f;
    }
    if (next != 0 && next != 43 && next != 60 && next != 51) break;
    std::size_t units = static_cast<std::uint8_t>(frame[pos + 1]);
    pos += next == 51 ? (units + 2) * 4 : (units + 1) * 8;
    next = following;
  }
  return std::nullopt;
}

Defragmenter::Defragmenter(DefragOptions options)
    : options_(options),
      heap_(custody::HeapOptions{.name = "ip defragmentation", .maxBytes = options.memoryBudget}) {}

Defragmenter::~Defragmenter() = default;  // the heap frees every piece

void Defragmenter::drop(std::map<Key, Pending>::iterator it) {
  for (const Piece& p : it->second.pieces) (void)heap_.free(p.bytes);
  pending_.erase(it);
}

void Defragmenter::expire(std::int64_t nowNs) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (nowNs - it->second.lastSeenNs > options_.timeoutNs) {
      ++stats_.timedOut;
      findings_.push_back({DefragFinding::Kind::kTimeout, it->second.firstFrame,
                           fmt::format("datagram id {:#x} incomplete after {} s", it->first.id,
                                       options_.timeoutNs / 1'000'000'000)});
      drop(it++);
    } else {
      ++it;
    }
  }
}

std::uint64_t Defragmenter::oldestFrame() const {
  std::uint64_t oldest = UINT64_MAX;
  for (const auto& [key, p] : pending_) {
    for (const Piece& piece : p.pieces) oldest = std::min(oldest, piece.frame);
  }
  return oldest;
}

bool Defragmenter::evictOldest(const Key& keep) {
  auto oldest = pending_.end();
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->first == keep) continue;
    if (oldest == pending_.end() || it->second.sequence < oldest->second.sequence) oldest = it;
  }
  if (oldest == pending_.end()) return false;
  ++stats_.evicted;
  findings_.push_back({DefragFinding::Kind::kEvicted, oldest->second.firstFrame,
                       fmt::format("datagram id {:#x} evicted by the {}-byte memory budget",
                                   oldest->first.id, options_.memoryBudget)});
  drop(oldest);
  return true;
}

std::optional<Datagram> Defragmenter::add(const Fragment& fragment) {
  ++stats_.fragments;
  expire(fragment.timestampNs);
  Key key{fragment.version, fragment.src, fragment.dst, fragment.protocol, fragment.id};
  auto [it, inserted] = pending_.try_emplace(key);
  Pending& p = it->second;
  if (inserted) {
    p.firstSeenNs = fragment.timestampNs;
    p.firstFrame = fragment.frame;
    p.sequence = sequence_++;
  }
  p.lastSeenNs = fragment.timestampNs;
  std::uint64_t end = std::uint64_t{fragment.offset} + fragment.payload.size();
  if (end > kMaxIpPayload) {
    ++stats_.dropped;
    findings_.push_back(
        {DefragFinding::Kind::kOversize, fragment.frame,
         fmt::format("fragment ends at byte {}, past the {}-byte IP maximum", end, kMaxIpPayload)});
    drop(it);
    return std::nullopt;
  }
  if (p.pieces.size() >= options_.maxFragments) {
    ++stats_.dropped;
    findings_.push_back({DefragFinding::Kind::kTooManyFragments, fragment.frame,
                         fmt::format("more than {} fragments", options_.maxFragments)});
    drop(it);
    return std::nullopt;
  }
  void* bytes = heap_.alloc(fragment.payload.size());
  while (bytes == nullptr && evictOldest(key)) bytes = heap_.alloc(fragment.payload.size());
  if (bytes == nullptr) {  // this datagram alone is over the budget
    ++stats_.evicted;
    findings_.push_back({DefragFinding::Kind::kEvicted, fragment.frame,
                         fmt::format("datagram id {:#x} does not fit the {}-byte memory budget",
                                     fragment.id, options_.memoryBudget)});
    drop(it);
    return std::nullopt;
  }
  if (!fragment.payload.empty())
    std::memcpy(bytes, fragment.payload.data(), fragment.payload.size());
  p.pieces.push_back({fragment.offset, static_cast<std::uint32_t>(fragment.payload.size()),
                      fragment.frame, static_cast<std::byte*>(bytes)});
  stats_.peakBytes = std::max(stats_.peakBytes, heap_.stats().liveBytes);
  if (!fragment.moreFragments) {
    p.haveLast = true;
    p.totalLength = static_cast<std::uint32_t>(end);
  }
  return tryComplete(it, fragment.frame);
}

std::optional<Datagram> Defragmenter::tryComplete(std::map<Key, Pending>::iterator it,
                                                  std::uint64_t frame) {
  Pending& p = it->second;
  if (!p.haveLast) return std::nullopt;
  // Coverage of [0, total) by the pieces, in offset order.
  std::vector<const Piece*> byOffset;
  for (const Piece& piece : p.pieces) byOffset.push_back(&piece);
  std::stable_sort(byOffset.begin(), byOffset.end(),
                   [](const Piece* a, const Piece* b) { return a->offset < b->offset; });
  std::uint64_t covered = 0;
  for (const Piece* piece : byOffset) {
    if (piece->offset > covered) return std::nullopt;  // a hole
    covered = std::max<std::uint64_t>(covered, std::uint64_t{piece->offset} + piece->length);
  }
  if (covered < p.totalLength) return std::nullopt;

  Datagram d;
  d.version = it->first.version;
  d.src = it->first.src;
  d.dst = it->first.dst;
  d.protocol = it->first.protocol;
  d.id = it->first.id;
  d.completedIn = frame;
  d.payload.assign(p.totalLength, std::byte{0});
  std::vector<bool> written(p.totalLength, false);
  auto lay = [&](const Piece& piece) {
    for (std::uint32_t i = 0; i < piece.length; ++i) {
      std::uint32_t at = piece.offset + i;
      if (at >= p.totalLength) break;  // bytes past the last fragment's end
      if (written[at] && d.payload[at] != piece.bytes[i]) d.conflicting = true;
      if (!written[at] || options_.policy == OverlapPolicy::kLastWins) {
        d.payload[at] = piece.bytes[i];
        written[at] = true;
      }
    }
  };
  if (options_.policy == OverlapPolicy::kLowestOffset) {
    for (const Piece* piece : byOffset) lay(*piece);
  } else {
    for (const Piece& piece : p.pieces) lay(piece);
  }
  for (const Piece* piece : byOffset) {
    if (d.frames.empty() || d.frames.back() != piece->frame) d.frames.push_back(piece->frame);
  }
  ++stats_.completed;
  if (d.conflicting) {
    ++stats_.conflicts;
    findings_.push_back({DefragFinding::Kind::kOverlapConflict, frame,
                         fmt::format("datagram id {:#x}: overlapping fragments disagree ({} kept)",
                                     d.id, policyName(options_.policy))});
  }
  drop(it);
  return d;
}

}  // namespace warden::reassembly
