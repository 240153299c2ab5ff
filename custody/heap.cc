// Heap: size-class slabs, large blocks, accounting up the tree, children and failure injection.
//
// Slab layout (64 KiB, aligned to 64 KiB, so a block's slab is `p & ~0xffff`):
//   [Slab header][uint16 size per block: 0 = free, else requested + 1][pad to 16][blocks...]
// Free blocks of a slab form a list linked by block index through their first 4 bytes; blocks past
// `bump` were never handed out since the slab was taken, so a fresh slab needs no initialisation.
#include "custody/heap.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>

#include "custody/slab_pool.h"

namespace warden::custody {
namespace detail {

// No pointer back to the owning Heap: slabs in use are LeakSanitizer roots, and a back pointer
// would make a leaked Heap look reachable.
struct Slab {
  Slab* prev;  // links in the heap's list of slabs with free blocks, for this size class
  Slab* next;
  std::uint32_t freeHead;  // index of the first freed block, or kNoBlock
  std::uint32_t bump;      // blocks [bump, capacity) never handed out
  std::uint32_t live;
  std::uint8_t cls;
  bool listed;  // in the available list
};

}  // namespace detail

using detail::Slab;

// The alloc and free fast paths are a handful of loads and stores; calls would double their cost.
#define WARDEN_HOT [[gnu::always_inline]] inline

namespace {

constexpr std::uint32_t kNoBlock = 0xffffffffu;
constexpr std::size_t kHeaderBytes = (sizeof(Slab) + 15) & ~std::size_t{15};
constexpr std::size_t kMaxSmall = 8192;

struct SizeClass {
  std::uint32_t blockSize;
  std::uint32_t capacity;
  std::uint32_t firstBlock;  // offset of block 0 from the slab start
  std::uint64_t reciprocal;  // ceil(2^32 / blockSize): offset / blockSize without dividing
};

// 16..128 in steps of 16, then four classes per doubling up to 8 KiB (as jemalloc spaces them):
// at most 25% of a block is rounding.
constexpr std::array<SizeClass, detail::kSizeClassCount> makeClasses() {
  std::array<SizeClass, detail::kSizeClassCount> classes{};
  for (std::size_t c = 0; c < classes.size(); ++c) {
    std::size_t size;
    if (c < 8) {
      size = 16 * (c + 1);
    } else {
      std::size_t base = std::size_t{128} << ((c - 8) / 4);
      size = base + ((c - 8) % 4 + 1) * (base / 4);
    }
    std::size_t capacity = (kSlabBytes - kHeaderBytes) / (size + 2);
    auto first = [&](std::size_t cap) { return (kHeaderBytes + 2 * cap + 15) & ~std::size_t{15}; };
    while (first(capacity) + capacity * size > kSlabBytes) --capacity;
    classes[c] = SizeClass{static_cast<std::uint32_t>(size), static_cast<std::uint32_t>(capacity),
                           static_cast<std::uint32_t>(first(capacity)),
                           ((std::uint64_t{1} << 32) + size - 1) / size};
  }
  return classes;
}
alignas(4096) constexpr auto kClasses = makeClasses();
static_assert(kClasses.back().blockSize == kMaxSmall);
static_assert(kClasses.back().capacity >= 7);
// Exact division by the reciprocal needs 32 >= bits(offset) + bits(blockSize) (Lemire et al.).
static_assert(std::bit_width(kSlabBytes) + std::bit_width(kMaxSmall) <= 32 + 2);

// The size class of an n-byte request, n <= kMaxSmall, by 16-byte granule: a table lookup. (A bsr
// here has a false dependency on its output register, which put the class on the critical path of
// the heap's stats update and doubled the cost of an alloc/free pair for blocks over 128 bytes.)
constexpr std::size_t classByFormula(std::size_t n) {
  if (n <= 128) return n == 0 ? 0 : (n - 1) >> 4;
  std::size_t lg = static_cast<std::size_t>(std::bit_width(n - 1)) - 1;
  return 8 + (lg - 7) * 4 + (((n - 1) >> (lg - 2)) - 4);
}
constexpr auto kClassOfGranule = [] {
  std::array<std::uint8_t, kMaxSmall / 16 + 1> table{};
  for (std::size_t g = 0; g < table.size(); ++g) {
    table[g] = static_cast<std::uint8_t>(classByFormula(g * 16));
  }
  return table;
}();
constexpr std::size_t classOf(std::size_t n) { return kClassOfGranule[(n + 15) >> 4]; }
static_assert(classOf(0) == 0 && classOf(1) == 0 && classOf(16) == 0 && classOf(17) == 1);
static_assert(classOf(128) == 7 && classOf(129) == 8 && classOf(160) == 8 && classOf(161) == 9);
static_assert(classOf(256) == 11 && classOf(257) == 12 && classOf(8192) == 31);
static_assert([] {
  for (std::size_t n = 1; n <= kMaxSmall; ++n) {
    if (classOf(n) != classByFormula(n) || kClasses[classOf(n)].blockSize < n) return false;
    if (classOf(n) > 0 && kClasses[classOf(n) - 1].blockSize >= n) return false;
  }
  return true;
}());

std::uint16_t* sizesOf(Slab* slab) {
  return reinterpret_cast<std::uint16_t*>(reinterpret_cast<char*>(slab) + kHeaderBytes);
}
char* blockAt(Slab* slab, std::uint32_t index) {
  const SizeClass& c = kClasses[slab->cls];
  return reinterpret_cast<char*>(slab) + c.firstBlock + std::size_t{index} * c.blockSize;
}

// The free-list link lives in a freed (poisoned) block; open it only for the access.
std::uint32_t readLink(const char* block) {
  detail::unpoison(block, sizeof(std::uint32_t));
  std::uint32_t next;
  std::memcpy(&next, block, sizeof next);
  detail::poison(block, sizeof(std::uint32_t));
  return next;
}
void writeLink(char* block, std::uint32_t next) {
  detail::unpoison(block, sizeof(std::uint32_t));
  std::memcpy(block, &next, sizeof next);
  detail::poison(block, sizeof(std::uint32_t));
}

void linkFront(Slab*& head, Slab* slab) {
  slab->prev = nullptr;
  slab->next = head;
  if (head != nullptr) head->prev = slab;
  head = slab;
  slab->listed = true;
}
void unlink(Slab*& head, Slab* slab) {
  if (slab->prev != nullptr) slab->prev->next = slab->next;
  if (slab->next != nullptr) slab->next->prev = slab->prev;
  if (head == slab) head = slab->next;
  slab->prev = slab->next = nullptr;
  slab->listed = false;
}

}  // namespace

// Where a live (or once live) pointer sits.
struct Heap::Block {
  enum class State { kLive, kFreed, kInterior, kForeign };
  State state = State::kForeign;
  void* address = nullptr;
  Slab* slab = nullptr;  // null for a large block
  std::uint32_t index = 0;
  std::size_t size = 0;  // requested bytes
};

Heap::Heap(HeapOptions options)
    : name_(std::move(options.name)),
      maxBytes_(options.maxBytes),
      maxBlocks_(options.maxBlocks),
      tree_(&ownTree_) {
  ownTree_.shared = options.threadSafe;
}

Heap::Heap(ChildTag, Heap* parent, HeapOptions options)
    : name_(std::move(options.name)),
      maxBytes_(options.maxBytes),
      maxBlocks_(options.maxBlocks),
      parent_(parent),
      tree_(parent->tree_) {}

// Children are destroyed only through their parent, which holds the tree's lock already; a root
// being destroyed has no other user. So the destructor takes no lock.
Heap::~Heap() { releaseLocked(); }

WARDEN_HOT std::unique_lock<std::mutex> Heap::lock() const {
  return tree_->shared ? std::unique_lock<std::mutex>(tree_->mutex)
                       : std::unique_lock<std::mutex>();
}

// Refusals and misuse are the cold paths: kept out of line so the alloc and free fast paths stay
// small (formatting a message inline gave allocLocked a 168-byte frame and six saved registers).
[[gnu::cold, gnu::noinline]] void Heap::refuse(Status* why, Refusal reason, std::size_t bytes,
                                               const Heap& at) {
  for (Heap* h = this; h != nullptr; h = h->parent_) ++h->stats_.refusedAllocations;
  if (why == nullptr) return;
  switch (reason) {
    case Refusal::kInjected:
      *why = LimitExceededError("injected failure of allocation attempt {} in heap '{}'",
                                tree_->attempts, name_);
      break;
    case Refusal::kQuota:
      *why = LimitExceededError(
          "heap '{}' refused {} bytes: quota {} bytes / {} blocks, live {} bytes / {} blocks",
          at.name_, bytes, at.maxBytes_, at.maxBlocks_, at.stats_.liveBytes, at.stats_.liveBlocks);
      break;
    case Refusal::kTooLarge:
      *why = LimitExceededError("heap '{}' refused {} bytes: larger than any block ({})", name_,
                                bytes, kMaxBlockBytes);
      break;
    case Refusal::kSystem:
      *why = LimitExceededError("heap '{}': the system refused memory for {} bytes", name_, bytes);
      break;
  }
}

[[gnu::cold, gnu::noinline]] Status Heap::invalidPointer(const void* p, const Block& block,
                                                         bool count) {
  if (count) {
    for (Heap* h = this; h != nullptr; h = h->parent_) ++h->stats_.invalidFrees;
  }
  switch (block.state) {
    case Block::State::kFreed:
      return InvalidArgumentError("heap '{}': block {} was already freed (double free)", name_, p);
    case Block::State::kInterior:
      return InvalidArgumentError("heap '{}': {} points inside a block, not at its start", name_,
                                  p);
    default:
      return InvalidArgumentError(
          "heap '{}': {} is not a block of this heap (foreign pointer, or freed and its slab "
          "returned)",
          name_, p);
  }
}

WARDEN_HOT bool Heap::injectFailure(Status* why) {
  if (tree_->failAt == 0) [[likely]]
    return false;  // attempts are counted only while armed
  std::uint64_t attempt = ++tree_->attempts;
  if (attempt != tree_->failAt) return false;
  refuse(why, Refusal::kInjected, 0, *this);
  return true;
}

WARDEN_HOT bool Heap::charge(std::size_t bytes, std::size_t blocks, Status* why) {
  if (parent_ == nullptr && bytes <= maxBytes_ - stats_.liveBytes &&
      blocks <= maxBlocks_ - stats_.liveBlocks) {
    stats_.liveBytes += bytes;
    stats_.liveBlocks += blocks;
    if (stats_.liveBytes > stats_.peakBytes) stats_.peakBytes = stats_.liveBytes;
    return true;
  }
  for (Heap* h = this; h != nullptr; h = h->parent_) {
    if (bytes > h->maxBytes_ - h->stats_.liveBytes ||
        blocks > h->maxBlocks_ - h->stats_.liveBlocks) {
      refuse(why, Refusal::kQuota, bytes, *h);
      return false;
    }
  }
  for (Heap* h = this; h != nullptr; h = h->parent_) {
    h->stats_.liveBytes += bytes;
    h->stats_.liveBlocks += blocks;
    h->stats_.peakBytes = std::max(h->stats_.peakBytes, h->stats_.liveBytes);
  }
  return true;
}

WARDEN_HOT void Heap::uncharge(std::size_t bytes, std::size_t blocks) {
  stats_.liveBytes -= bytes;
  stats_.liveBlocks -= blocks;
  for (Heap* h = parent_; h != nullptr; h = h->parent_) {
    h->stats_.liveBytes -= bytes;
    h->stats_.liveBlocks -= blocks;
  }
}

Slab* Heap::newSlab(std::size_t cls) noexcept {
  SlabPool& pool = SlabPool::instance();
  void* memory = pool.acquire();
  if (memory == nullptr) return nullptr;
  if (!slabs_.insert(reinterpret_cast<std::uintptr_t>(memory), 0)) {
    pool.release(memory);
    return nullptr;
  }
  detail::unpoison(memory, kClasses[cls].firstBlock);
  auto* slab =
      new (memory) Slab{nullptr, nullptr, kNoBlock, 0, 0, static_cast<std::uint8_t>(cls), false};
  linkFront(available_[cls], slab);
  return slab;
}

void Heap::retireSlab(Slab* slab) noexcept {
  if (slab->listed) unlink(available_[slab->cls], slab);
  if (reinterpret_cast<std::uintptr_t>(slab) == lastSlab_) lastSlab_ = 0;
  slabs_.erase(reinterpret_cast<std::uintptr_t>(slab));
  SlabPool::instance().release(slab);
}

WARDEN_HOT void* Heap::takeSmall(std::size_t cls, std::size_t n) noexcept {
  Slab* slab = available_[cls];
  if (slab == nullptr && (slab = newSlab(cls)) == nullptr) return nullptr;
  const SizeClass& c = kClasses[cls];
  std::uint32_t index;
  if (slab->freeHead != kNoBlock) {
    index = slab->freeHead;
    slab->freeHead = readLink(blockAt(slab, index));
  } else {
    index = slab->bump++;
  }
  sizesOf(slab)[index] = static_cast<std::uint16_t>(n + 1);
  ++slab->live;
  if (slab->freeHead == kNoBlock && slab->bump == c.capacity) unlink(available_[cls], slab);
  char* block = blockAt(slab, index);
  detail::unpoison(block, n);
  return block;
}

void* Heap::takeLarge(std::size_t n) noexcept {
  static_assert(alignof(std::max_align_t) >= kBlockAlignment, "malloc must align to 16 bytes");
  void* p = std::malloc(n);
  if (p == nullptr) return nullptr;
  if (!large_.insert(reinterpret_cast<std::uintptr_t>(p), n)) {
    std::free(p);
    return nullptr;
  }
  return p;
}

WARDEN_HOT void Heap::putBack(const Block& block) noexcept {
  Slab* slab = block.slab;
  if (slab == nullptr) {
    large_.erase(reinterpret_cast<std::uintptr_t>(block.address));
    std::free(block.address);
    return;
  }
  const SizeClass& c = kClasses[slab->cls];
  char* p = blockAt(slab, block.index);
  sizesOf(slab)[block.index] = 0;
  detail::poison(p, c.blockSize);
  writeLink(p, slab->freeHead);
  slab->freeHead = block.index;
  --slab->live;
  if (!slab->listed) {
    linkFront(available_[slab->cls], slab);
  } else if (slab->live == 0 && (slab->prev != nullptr || slab->next != nullptr)) {
    // Empty and not the class's only slab with room: give it back. The last one stays, so an
    // alloc/free loop at a slab boundary does not go to the pool every time.
    retireSlab(slab);
  }
}

WARDEN_HOT bool Heap::find(const void* p, Block& block) const noexcept {
  auto address = reinterpret_cast<std::uintptr_t>(p);
  block = Block{};
  block.address = const_cast<void*>(p);
  std::uintptr_t base = address & ~(std::uintptr_t{kSlabBytes} - 1);
  if (base == lastSlab_ || slabs_.find(base) != nullptr) {
    lastSlab_ = base;
    auto* slab = reinterpret_cast<Slab*>(base);
    const SizeClass& c = kClasses[slab->cls];
    std::size_t offset = address - base;
    block.slab = slab;
    block.state = Block::State::kInterior;
    if (offset < c.firstBlock) return false;
    offset -= c.firstBlock;
    auto index = static_cast<std::uint32_t>((offset * c.reciprocal) >> 32);
    if (std::size_t{index} * c.blockSize != offset) return false;
    block.index = index;
    if (index >= slab->bump) {
      block.state = Block::State::kForeign;  // never handed out
      return false;
    }
    std::uint16_t stored = sizesOf(slab)[index];
    if (stored == 0) {
      block.state = Block::State::kFreed;
      return false;
    }
    block.state = Block::State::kLive;
    block.size = stored - 1u;
    return true;
  }
  if (const std::uint64_t* size = large_.find(address)) {
    block.state = Block::State::kLive;
    block.size = static_cast<std::size_t>(*size);
    return true;
  }
  return false;
}

void* Heap::alloc(std::size_t n, Status* why) noexcept {
  if (tree_->shared) {
    std::lock_guard guard(tree_->mutex);
    return allocLocked(n, why);
  }
  return allocLocked(n, why);
}

WARDEN_HOT void* Heap::allocLocked(std::size_t n, Status* why) noexcept {
  if (injectFailure(why)) return nullptr;
  if (n > kMaxBlockBytes) {
    refuse(why, Refusal::kTooLarge, n, *this);
    return nullptr;
  }
  if (!charge(n, 1, why)) return nullptr;
  void* p = n <= kMaxSmall ? takeSmall(classOf(n), n) : takeLarge(n);
  if (p == nullptr) {
    uncharge(n, 1);
    refuse(why, Refusal::kSystem, n, *this);
    return nullptr;
  }
  ++stats_.totalAllocations;
  for (Heap* h = parent_; h != nullptr; h = h->parent_) ++h->stats_.totalAllocations;
  return p;
}

void* Heap::realloc(void* p, std::size_t n, Status* why) noexcept {
  auto guard = lock();
  if (p == nullptr) return allocLocked(n, why);
  Block old;
  if (!find(p, old)) {
    Status invalid = invalidPointer(p, old, /*count=*/true);
    if (why != nullptr) *why = std::move(invalid);
    return nullptr;
  }
  if (injectFailure(why)) return nullptr;
  if (n > kMaxBlockBytes) {
    refuse(why, Refusal::kTooLarge, n, *this);
    return nullptr;
  }
  if (n > old.size && !charge(n - old.size, 0, why)) return nullptr;
  auto settle = [&](void* result) {
    if (n < old.size) uncharge(old.size - n, 0);
    return result;
  };

  bool small = n <= kMaxSmall;
  if (old.slab != nullptr && small && classOf(n) == old.slab->cls) {
    sizesOf(old.slab)[old.index] = static_cast<std::uint16_t>(n + 1);
    detail::poison(p, kClasses[old.slab->cls].blockSize);
    detail::unpoison(p, n);
    return settle(p);
  }
  if (old.slab == nullptr && !small) {
    auto oldKey = reinterpret_cast<std::uintptr_t>(p);
    void* moved = std::realloc(p, n);
    if (moved != nullptr) {
      // Same table size after the erase, so the insert cannot need to grow and cannot fail.
      large_.erase(oldKey);
      large_.insert(reinterpret_cast<std::uintptr_t>(moved), n);
      return settle(moved);
    }
  } else if (void* moved = small ? takeSmall(classOf(n), n) : takeLarge(n)) {
    std::memcpy(moved, p, std::min(n, old.size));
    putBack(old);
    return settle(moved);
  }
  if (n > old.size) uncharge(n - old.size, 0);
  refuse(why, Refusal::kSystem, n, *this);
  return nullptr;
}

Status Heap::free(void* p) noexcept {
  if (tree_->shared) {
    std::lock_guard guard(tree_->mutex);
    return freeLocked(p);
  }
  return freeLocked(p);
}

WARDEN_HOT Status Heap::freeLocked(void* p) noexcept {
  if (p == nullptr) return Status();
  Block block;
  if (!find(p, block)) return invalidPointer(p, block, /*count=*/true);
  putBack(block);
  uncharge(block.size, 1);
  return Status();
}

Result<std::size_t> Heap::size(const void* p) const noexcept {
  auto guard = lock();
  Block block;
  if (!find(p, block)) return const_cast<Heap*>(this)->invalidPointer(p, block, /*count=*/false);
  return block.size;
}

bool Heap::owns(const void* p) const noexcept {
  auto guard = lock();
  Block block;
  return find(p, block);
}

Reclaimed Heap::releaseAll() noexcept {
  auto guard = lock();
  return releaseLocked();
}

Reclaimed Heap::releaseLocked() noexcept {
  Reclaimed reclaimed{stats_.liveBytes, stats_.liveBlocks};
  // Children first, newest first; each uncharges itself from this heap and its ancestors. Their
  // objects live in this heap's slabs, which go back to the pool below.
  while (firstChild_ != nullptr) {
    Heap* child = firstChild_;
    firstChild_ = child->nextSibling_;
    child->~Heap();
  }
  SlabPool& pool = SlabPool::instance();
  slabs_.forEach(
      [&](std::uintptr_t base, std::uint64_t) { pool.release(reinterpret_cast<void*>(base)); });
  slabs_.clear();
  lastSlab_ = 0;
  large_.forEach(
      [](std::uintptr_t address, std::uint64_t) { std::free(reinterpret_cast<void*>(address)); });
  large_.clear();
  available_.fill(nullptr);
  // What remains charged is this heap's own blocks (child objects included).
  for (Heap* h = parent_; h != nullptr; h = h->parent_) {
    h->stats_.liveBytes -= stats_.liveBytes;
    h->stats_.liveBlocks -= stats_.liveBlocks;
  }
  stats_.liveBytes = 0;
  stats_.liveBlocks = 0;
  return reclaimed;
}

Heap* Heap::createChild(HeapOptions options, Status* why) noexcept {
  auto guard = lock();
  void* memory = allocLocked(sizeof(Heap), why);
  if (memory == nullptr) return nullptr;
  auto* child = new (memory) Heap(ChildTag{}, this, std::move(options));
  child->nextSibling_ = firstChild_;
  firstChild_ = child;
  return child;
}

void Heap::unlinkChild(Heap* child) {
  for (Heap** link = &firstChild_; *link != nullptr; link = &(*link)->nextSibling_) {
    if (*link == child) {
      *link = child->nextSibling_;
      return;
    }
  }
}

Status Heap::destroyChild(Heap* child) noexcept {
  auto guard = lock();
  bool found = false;
  for (Heap* c = firstChild_; c != nullptr && !found; c = c->nextSibling_) found = c == child;
  if (!found) {
    return InvalidArgumentError("heap '{}': {} is not one of its live children", name_,
                                static_cast<const void*>(child));
  }
  unlinkChild(child);
  child->~Heap();
  return freeLocked(child);
}

HeapStats Heap::stats() const {
  auto guard = lock();
  return stats_;
}

void Heap::failAllocationAt(std::uint64_t n) {
  auto guard = lock();
  tree_->failAt = n == 0 ? 0 : tree_->attempts + n;
  if (n == 0) tree_->attempts = 0;
}

std::uint64_t Heap::allocationAttempts() const {
  auto guard = lock();
  return tree_->attempts;
}

}  // namespace warden::custody
