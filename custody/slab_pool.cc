// SlabPool: chunk mapping, free lists, and the sanitizer hooks heaps use.
#include "custody/slab_pool.h"

#include <sys/mman.h>

#include <new>

#if defined(WARDEN_CUSTODY_ASAN)
#include <sanitizer/lsan_interface.h>
#endif

namespace warden::custody {
namespace {

constexpr std::size_t kSlabsPerChunk = 32;  // 2 MiB chunks
constexpr std::size_t kChunkBytes = kSlabsPerChunk * kSlabBytes;

}  // namespace

SlabPool& SlabPool::instance() {
  // Constructed on first use and never destroyed: heaps with static storage may outlive any
  // ordinary static, and the mapped chunks stay registered with LeakSanitizer as roots.
  alignas(SlabPool) static unsigned char storage[sizeof(SlabPool)];
  static SlabPool* pool = new (storage) SlabPool();
  return *pool;
}

SlabPool::FreeSlab* SlabPool::pop(FreeSlab*& list) {
  FreeSlab* slab = list;
  detail::unpoison(slab, sizeof(FreeSlab));
  list = slab->next;
  return slab;
}

void SlabPool::push(FreeSlab*& list, void* slab) {
  detail::poison(slab, kSlabBytes);
  detail::unpoison(slab, sizeof(FreeSlab));
  auto* node = static_cast<FreeSlab*>(slab);
  node->next = list;
  list = node;
  detail::poison(slab, sizeof(FreeSlab));
}

bool SlabPool::mapChunk() noexcept {
  // Over-map by one slab and trim, so the chunk starts on a slab boundary.
  std::size_t span = kChunkBytes + kSlabBytes;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return false;
  auto base = reinterpret_cast<std::uintptr_t>(raw);
  std::uintptr_t aligned = (base + kSlabBytes - 1) & ~(std::uintptr_t{kSlabBytes} - 1);
  if (aligned > base) munmap(raw, aligned - base);
  std::size_t tail = base + span - (aligned + kChunkBytes);
  if (tail > 0) munmap(reinterpret_cast<void*>(aligned + kChunkBytes), tail);
  for (std::size_t i = kSlabsPerChunk; i-- > 0;) {
    push(resident_, reinterpret_cast<void*>(aligned + i * kSlabBytes));
  }
  residentCount_ += kSlabsPerChunk;
  mapped_ += kSlabsPerChunk;
  return true;
}

// While a heap holds a slab, its blocks may hold the only pointer to malloc'd memory: LeakSanitizer
// scans slabs in use as roots. Free slabs are not scanned, so nothing they once held looks alive.
void* SlabPool::acquire() noexcept {
  void* slab = take();
#if defined(WARDEN_CUSTODY_ASAN)
  if (slab != nullptr) __lsan_register_root_region(slab, kSlabBytes);
#endif
  return slab;
}

void* SlabPool::take() noexcept {
  std::lock_guard lock(mu_);
  if (resident_ != nullptr) {
    --residentCount_;
    return pop(resident_);
  }
  if (cold_ != nullptr) {
    --coldCount_;
    return pop(cold_);
  }
  if (!mapChunk()) return nullptr;
  --residentCount_;
  return pop(resident_);
}

void SlabPool::release(void* slab) noexcept {
#if defined(WARDEN_CUSTODY_ASAN)
  __lsan_unregister_root_region(slab, kSlabBytes);
#endif
  std::lock_guard lock(mu_);
  if (residentCount_ < retainLimit_) {
    push(resident_, slab);
    ++residentCount_;
    return;
  }
  // Keep the address range (and its LSan root registration); give the pages back.
  madvise(slab, kSlabBytes, MADV_DONTNEED);
  push(cold_, slab);
  ++coldCount_;
}

SlabPool::Stats SlabPool::stats() const {
  std::lock_guard lock(mu_);
  return Stats{mapped_, residentCount_ + coldCount_, residentCount_};
}

void SlabPool::setRetainLimit(std::size_t slabs) {
  std::lock_guard lock(mu_);
  retainLimit_ = slabs;
}

}  // namespace warden::custody
