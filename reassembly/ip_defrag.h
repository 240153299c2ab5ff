// IPv4 and IPv6 defragmentation. Fragments are keyed by (version, src, dst, protocol, id); their
// bytes live in a custody Heap whose quota is the memory budget, so a flood of never-completed
// datagrams evicts the oldest instead of growing. Overlaps are resolved by a chosen policy and an
// overlap whose bytes differ is a named finding, as are timeouts, evictions and datagrams larger
// than IP allows. Nothing here is an error: bad input becomes findings and counts.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "custody/heap.h"
#include "decode/decoder.h"

namespace warden::reassembly {

// Which bytes an overlap keeps: those of the fragment with the lowest offset (ties: the earlier
// arrival), as Wireshark's reassembly does; those that arrived first; or those that arrived last.
enum class OverlapPolicy { kLowestOffset, kFirstWins, kLastWins };

struct DefragOptions {
  OverlapPolicy policy = OverlapPolicy::kLowestOffset;
  std::int64_t timeoutNs = 30'000'000'000;  // Linux ipfrag_time
  std::size_t memoryBudget = std::size_t{64} << 20;
  std::size_t maxFragments = 1024;  // per datagram
};

// One fragment as found in a frame.
struct Fragment {
  std::uint8_t version = 4;
  decode::Address src, dst;
  std::uint8_t protocol = 0;  // IPv4 protocol / IPv6 next header after the fragment header
  std::uint32_t id = 0;
  std::uint32_t offset = 0;  // bytes
  bool moreFragments = false;
  std::span<const std::byte> payload;  // the fragment's share of the fragmentable part
  std::uint64_t frame = 0;
  std::int64_t timestampNs = 0;
};

// The fragment in a decoded frame, if its first IP header is one (offset or MF set).
std::optional<Fragment> fragmentOf(std::span<const std::byte> frame,
                                   const decode::DecodedFrame& decoded, std::uint64_t number,
                                   std::int64_t timestampNs);

struct Datagram {
  std::uint8_t version = 4;
  decode::Address src, dst;
  std::uint8_t protocol = 0;
  std::uint32_t id = 0;
  std::vector<std::byte> payload;     // the reassembled payload (after the IP header)
  std::vector<std::uint64_t> frames;  // fragment frames, by offset
  std::uint64_t completedIn = 0;      // the frame that completed it
  bool conflicting = false;           // overlapping fragments disagreed
};

struct DefragFinding {
  enum class Kind { kOverlapConflict, kTimeout, kEvicted, kOversize, kTooManyFragments };
  Kind kind;
  std::uint64_t frame;  // the frame that triggered it (for timeouts, the datagram's first)
  std::string detail;
};
std::string_view findingName(DefragFinding::Kind kind);
std::string_view policyName(OverlapPolicy policy);

struct DefragStats {
  std::uint64_t fragments = 0;
  std::uint64_t completed = 0;
  std::uint64_t timedOut = 0;
  std::uint64_t evicted = 0;
  std::uint64_t conflicts = 0;
  std::uint64_t dropped = 0;  // oversize or too many fragments
  std::size_t peakBytes = 0;
};

class Defragmenter {
 public:
  explicit Defragmenter(DefragOptions options = {});
  ~Defragmenter();
  Defragmenter(const Defragmenter&) = delete;
  Defragmenter& operator=(const Defragmenter&) = delete;

  // Adds a fragment; returns the datagram it completes, if any. Datagrams idle longer than the
  // timeout (by capture time) are dropped first.
  std::optional<Datagram> add(const Fragment& fragment);
  // Datagrams still waiting for fragments.
  std::size_t pending() const { return pending_.size(); }
  // Drops datagrams idle longer than the timeout at capture time nowNs, as add() does first.
  void expireIdle(std::int64_t nowNs) { expire(nowNs); }
  // The lowest frame number among waiting fragments (UINT64_MAX: none).
  std::uint64_t oldestFrame() const;
  const DefragStats& stats() const { return stats_; }
  const std::vector<DefragFinding>& findings() const { return findings_; }

 private:
  struct Key {
    std::uint8_t version;
    decode::Address src, dst;
    std::uint8_t protocol;
    std::uint32_t id;
    auto operator<=>(const Key&) const = default;
  };
  struct Piece {
    std::uint32_t offset;
    std::uint32_t length;
    std::uint64_t frame;
    std::byte* bytes;  // in heap_
  };
  struct Pending {
    std::vector<Piece> pieces;  // arrival order
    std::int64_t firstSeenNs = 0;
    std::int64_t lastSeenNs = 0;
    std::uint64_t firstFrame = 0;
    std::uint64_t sequence = 0;     // arrival order of datagrams, for eviction
    std::uint32_t totalLength = 0;  // known once the last fragment arrived
    bool haveLast = false;
  };

  void expire(std::int64_t nowNs);
  void drop(std::map<Key, Pending>::iterator it);
  bool evictOldest(const Key& keep);
  std::optional<Datagram> tryComplete(std::map<Key, Pending>::iterator it, std::uint64_t frame);

  DefragOptions options_;
  custody::Heap heap_;
  std::map<Key, Pending> pending_;
  std::uint64_t sequence_ = 0;
  DefragStats stats_;
  std::vector<DefragFinding> findings_;
};

}  // namespace warden::reassembly
