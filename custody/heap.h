// Heap: an owner-scoped allocator in which every block is tracked, so the owner's failure can be
// cleaned up by releasing the heap. Blocks up to 8 KiB come from size-class slabs the heap takes
// from the process-wide SlabPool; larger ones from malloc, kept in an address map. A pointer is
// checked against the heap's own slab and block maps before anything is read through it, so double
// frees and foreign pointers are reported as errors, never undefined behaviour.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"
#include "custody/address_map.h"

namespace warden::custody {

inline constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();
// Every block is aligned to this many bytes (enough for any scalar type, SSE and long double).
inline constexpr std::size_t kBlockAlignment = 16;
// Larger requests are refused before anything else looks at them.
inline constexpr std::size_t kMaxBlockBytes = std::size_t{1} << 40;

struct HeapOptions {
  std::string name = "heap";
  // Quotas over the heap and all its children; a request that would pass either is refused.
  std::size_t maxBytes = kUnlimited;   // requested bytes of live blocks
  std::size_t maxBlocks = kUnlimited;  // live blocks
  // One heap tree belongs to one thread unless this is set on its root: then every operation on
  // any heap of the tree takes the root's mutex.
  bool threadSafe = false;
};

// Counters over the heap and all its children. Bytes are requested bytes, not rounded sizes.
struct HeapStats {
  std::size_t liveBytes = 0;
  std::size_t liveBlocks = 0;
  std::size_t peakBytes = 0;
  std::uint64_t totalAllocations = 0;    // successful alloc() and realloc(nullptr, n)
  std::uint64_t refusedAllocations = 0;  // quota, injected failure, oversize or system refusal
  std::uint64_t invalidFrees = 0;        // double frees, foreign and interior pointers
};

// What releaseAll() took back.
struct Reclaimed {
  std::size_t bytes = 0;
  std::size_t blocks = 0;
};

namespace detail {
struct Slab;
inline constexpr std::size_t kSizeClassCount = 32;
}  // namespace detail

class Heap {
 public:
  explicit Heap(HeapOptions options = {});
  ~Heap();  // releases every child and block
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  // A block of at least n bytes (n may be 0), 16-byte aligned; null when refused, with the reason
  // in *why (LimitExceeded for quota, size and system refusals, Internal for an injected failure).
  void* alloc(std::size_t n, Status* why = nullptr) noexcept;
  // C realloc semantics: null p allocates; on refusal returns null and p stays valid and unchanged.
  // A p this heap does not own gives null and InvalidArgument.
  void* realloc(void* p, std::size_t n, Status* why = nullptr) noexcept;
  // Frees a block. Null is a no-op. Double frees, interior and foreign pointers are refused with
  // InvalidArgument and counted in stats().invalidFrees; the heap is unchanged.
  Status free(void* p) noexcept;
  // The requested size of a live block.
  Result<std::size_t> size(const void* p) const noexcept;
  // Whether p is a live block of this heap (not of its children).
  bool owns(const void* p) const noexcept;

  // Destroys every child (newest first), then frees every block. The heap stays usable.
  Reclaimed releaseAll() noexcept;

  // A child heap living in this heap's memory: its blocks count against this heap's quota and
  // stats, and it is destroyed before this heap releases its own blocks. Null when refused.
  Heap* createChild(HeapOptions options, Status* why = nullptr) noexcept;
  // Destroys a child early. InvalidArgument when `child` is not a live child of this heap.
  Status destroyChild(Heap* child) noexcept;

  HeapStats stats() const;
  const std::string& name() const { return name_; }
  std::size_t maxBytes() const { return maxBytes_; }
  std::size_t maxBlocks() const { return maxBlocks_; }

  // Failure injection for tests: the n-th allocation attempt from now (1-based) on any heap of this
  // tree is refused; 0 turns injection off. While injection is armed, allocationAttempts() counts
  // every attempt (alloc, realloc, child creation) on the tree; unarmed heaps do not count.
  void failAllocationAt(std::uint64_t n);
  std::uint64_t allocationAttempts() const;

 private:
  struct Tree {
    std::mutex mutex;
    bool shared = false;
    std::uint64_t failAt = 0;
    std::uint64_t attempts = 0;
  };
  struct Block;  // where a pointer lives: slab + index, or a large block
  struct ChildTag {};
  Heap(ChildTag, Heap* parent, HeapOptions options);

  std::unique_lock<std::mutex> lock() const;
  bool injectFailure(Status* why);
  enum class Refusal { kInjected, kQuota, kTooLarge, kSystem };
  bool charge(std::size_t bytes, std::size_t blocks, Status* why);
  void uncharge(std::size_t bytes, std::size_t blocks);
  void refuse(Status* why, Refusal reason, std::size_t bytes, const Heap& at);
  Status invalidPointer(const void* p, const Block& block, bool count);

  void* allocLocked(std::size_t n, Status* why) noexcept;
  Status freeLocked(void* p) noexcept;
  Reclaimed releaseLocked() noexcept;
  bool find(const void* p, Block& block) const noexcept;
  void* takeSmall(std::size_t cls, std::size_t n) noexcept;
  void* takeLarge(std::size_t n) noexcept;
  void putBack(const Block& block) noexcept;
  detail::Slab* newSlab(std::size_t cls) noexcept;
  void retireSlab(detail::Slab* slab) noexcept;
  void unlinkChild(Heap* child);

  std::string name_;
  std::size_t maxBytes_;
  std::size_t maxBlocks_;
  HeapStats stats_;
  Heap* parent_ = nullptr;
  Heap* firstChild_ = nullptr;  // newest first
  Heap* nextSibling_ = nullptr;
  Tree ownTree_;
  Tree* tree_;
  std::array<detail::Slab*, detail::kSizeClassCount> available_{};  // slabs with free blocks
  detail::AddressMap slabs_;                                        // slab base -> 0
  // The slab the last lookup found: frees tend to hit the same slab, and this skips the hash probe.
  // Mutable cache; reset whenever a slab leaves the heap.
  mutable std::uintptr_t lastSlab_ = 0;
  detail::AddressMap large_;  // block address -> requested size
};

}  // namespace warden::custody
