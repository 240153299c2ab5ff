// SlabPool: the process-wide source of the 64 KiB, 64 KiB-aligned slabs that heaps carve blocks
// from. Heaps take and return whole slabs, so creating and releasing a heap costs a few list
// operations, not a system call per block. The pool maps memory in 2 MiB chunks and never unmaps
// it; free slabs beyond the retain limit are handed back to the kernel with MADV_DONTNEED.
// Thread-safe (one mutex; heaps go to the pool only for whole slabs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>

namespace warden::custody {

inline constexpr std::size_t kSlabBytes = 64 * 1024;

// Address-sanitizer hooks: a heap poisons what is not handed out, so ASan reports a read of a freed
// block or one byte past a block's requested size, exactly as it would for malloc.
#if defined(__SANITIZE_ADDRESS__)
#define WARDEN_CUSTODY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WARDEN_CUSTODY_ASAN 1
#endif
#endif

#if defined(WARDEN_CUSTODY_ASAN)
}  // namespace warden::custody
#include <sanitizer/asan_interface.h>
namespace warden::custody::detail {
inline void poison(const void* p, std::size_t n) { ASAN_POISON_MEMORY_REGION(p, n); }
inline void unpoison(const void* p, std::size_t n) { ASAN_UNPOISON_MEMORY_REGION(p, n); }
}  // namespace warden::custody::detail
namespace warden::custody {
#else
namespace detail {
inline void poison(const void*, std::size_t) {}
inline void unpoison(const void*, std::size_t) {}
}  // namespace detail
#endif

class SlabPool {
 public:
  struct Stats {
    std::size_t mappedSlabs = 0;   // ever mapped (address space held)
    std::size_t freeSlabs = 0;     // on the pool's lists, resident or not
    std::size_t residentFree = 0;  // free and still backed by memory
    std::size_t slabsInUse() const { return mappedSlabs - freeSlabs; }
  };

  // The one pool of the process (never destroyed, so heaps in static storage stay valid).
  static SlabPool& instance();

  // A slab, or null when the system refuses memory. Its bytes are unspecified (poisoned under
  // ASan).
  void* acquire() noexcept;
  // Takes a slab back. The caller must not touch it again.
  void release(void* slab) noexcept;

  Stats stats() const;
  // How many free slabs stay resident; more are returned to the kernel (default 256 = 16 MiB).
  void setRetainLimit(std::size_t slabs);

 private:
  SlabPool() = default;
  struct FreeSlab {
    FreeSlab* next;
  };
  static FreeSlab* pop(FreeSlab*& list);
  static void push(FreeSlab*& list, void* slab);
  void* take() noexcept;
  bool mapChunk() noexcept;  // adds a chunk of slabs to the resident list; mu_ held

  mutable std::mutex mu_;
  FreeSlab* resident_ = nullptr;
  FreeSlab* cold_ = nullptr;
  std::size_t residentCount_ = 0;
  std::size_t coldCount_ = 0;
  std::size_t mapped_ = 0;
  std::size_t retainLimit_ = 256;
};

}  // namespace warden::custody
