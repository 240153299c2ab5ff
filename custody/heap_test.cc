// Heap: tracking, detection of misuse, quotas, children, failure injection, threads, and a
// randomized comparison with a model of what should be alive.
#include "custody/heap.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "custody/failure_sweep.h"
#include "custody/owned.h"
#include "custody/slab_pool.h"

namespace warden::custody {
namespace {

using ::testing::HasSubstr;

bool aligned16(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

TEST(Heap, AllocatesAlignedTrackedBlocksOfEverySize) {
  Heap heap;
  std::vector<std::pair<void*, std::size_t>> blocks;
  std::size_t expectedBytes = 0;
  for (std::size_t n : {0, 1, 15, 16, 17, 127, 128, 129, 255, 256, 1000, 4095, 4096, 8191, 8192,
                        8193, 20000, 100000}) {
    void* p = heap.alloc(n);
    ASSERT_NE(p, nullptr) << n;
    EXPECT_TRUE(aligned16(p)) << n;
    std::memset(p, 0xab, n);  // the whole requested size is writable (ASan checks the rest)
    EXPECT_EQ(*heap.size(p), n);
    EXPECT_TRUE(heap.owns(p));
    blocks.emplace_back(p, n);
    expectedBytes += n;
  }
  HeapStats stats = heap.stats();
  EXPECT_EQ(stats.liveBlocks, blocks.size());
  EXPECT_EQ(stats.liveBytes, expectedBytes);
  EXPECT_EQ(stats.totalAllocations, blocks.size());
  for (auto [p, n] : blocks) ASSERT_TRUE(heap.free(p).ok()) << n;
  EXPECT_EQ(heap.stats().liveBlocks, 0u);
  EXPECT_EQ(heap.stats().liveBytes, 0u);
  EXPECT_EQ(heap.stats().peakBytes, expectedBytes);
}

TEST(Heap, ZeroByteBlocksAreDistinct) {
  Heap heap;
  void* a = heap.alloc(0);
  void* b = heap.alloc(0);
  ASSERT_NE(a, nullptr);
  EXPECT_NE(a, b);
  EXPECT_EQ(*heap.size(a), 0u);
  EXPECT_TRUE(heap.free(a).ok());
  EXPECT_TRUE(heap.free(b).ok());
}

TEST(Heap, DoubleFreeIsReportedAndChangesNothing) {
  Heap heap(HeapOptions{.name = "run 7"});
  void* p = heap.alloc(40);
  void* keep = heap.alloc(40);
  ASSERT_TRUE(heap.free(p).ok());
  Status second = heap.free(p);
  EXPECT_EQ(second.code(), Code::kInvalidArgument);
  EXPECT_THAT(second.message(), HasSubstr("heap 'run 7'"));
  EXPECT_THAT(second.message(), HasSubstr("already freed (double free)"));
  EXPECT_EQ(heap.stats().invalidFrees, 1u);
  EXPECT_EQ(heap.stats().liveBlocks, 1u);
  EXPECT_EQ(heap.size(p).status().code(), Code::kInvalidArgument);
  // The freed block is reused normally afterwards; the double free did not corrupt the list.
  void* again = heap.alloc(40);
  void* more = heap.alloc(40);
  EXPECT_NE(again, more);
  EXPECT_NE(again, keep);
  EXPECT_EQ(heap.stats().liveBlocks, 3u);
}

TEST(Heap, DoubleFreeOfALargeBlockIsReported) {
  Heap heap;
  void* p = heap.alloc(1 << 20);
  ASSERT_TRUE(heap.free(p).ok());
  EXPECT_EQ(heap.free(p).code(), Code::kInvalidArgument);
  EXPECT_EQ(heap.stats().invalidFrees, 1u);
}

TEST(Heap, ForeignAndInteriorPointersAreRefusedWithoutTouchingThem) {
  Heap heap;
  Heap other;
  int onStack = 0;
  void* fromMalloc = std::malloc(32);
  void* fromOther = other.alloc(32);
  char* mine = static_cast<char*>(heap.alloc(64));
  for (void* foreign : {static_cast<void*>(&onStack), fromMalloc, fromOther}) {
    Status s = heap.free(foreign);
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("not a block of this heap"));
    EXPECT_FALSE(heap.owns(foreign));
  }
  Status interior = heap.free(mine + 16);
  EXPECT_THAT(interior.message(), HasSubstr("points inside a block"));
  // A pointer into the slab's header region, and one at a block never handed out.
  EXPECT_EQ(heap.free(reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(mine) &
                                              ~std::uintptr_t{kSlabBytes - 1}))
                .code(),
            Code::kInvalidArgument);
  EXPECT_THAT(heap.free(mine + 64 * 100).message(), HasSubstr("not a block of this heap"));
  EXPECT_EQ(heap.stats().invalidFrees, 6u);
  EXPECT_EQ(heap.stats().liveBlocks, 1u);
  EXPECT_TRUE(other.owns(fromOther));
  std::free(fromMalloc);
}

TEST(Heap, ReallocOfAForeignPointerFails) {
  Heap heap;
  int onStack = 0;
  Status why;
  EXPECT_EQ(heap.realloc(&onStack, 100, &why), nullptr);
  EXPECT_EQ(why.code(), Code::kInvalidArgument);
  EXPECT_EQ(heap.stats().invalidFrees, 1u);
  EXPECT_EQ(heap.stats().liveBlocks, 0u);
}

TEST(Heap, ReallocKeepsContentsAcrossClassesAndIntoLargeBlocks) {
  Heap heap;
  auto* p = static_cast<unsigned char*>(heap.alloc(10));
  for (int i = 0; i < 10; ++i) p[i] = static_cast<unsigned char>(i);
  std::size_t size = 10;
  for (std::size_t n : {12, 100, 5000, 9000, 70000, 3000, 5, 0, 7}) {
    p = static_cast<unsigned char*>(heap.realloc(p, n));
    ASSERT_NE(p, nullptr) << n;
    EXPECT_TRUE(aligned16(p));
    for (std::size_t i = 0; i < std::min({size, n, std::size_t{10}}); ++i) {
      ASSERT_EQ(p[i], i) << "after realloc to " << n;
    }
    for (std::size_t i = 10; i < n; ++i) p[i] = 0xee;
    size = n;
    EXPECT_EQ(*heap.size(p), n);
    EXPECT_EQ(heap.stats().liveBytes, n);
    EXPECT_EQ(heap.stats().liveBlocks, 1u);
  }
  EXPECT_EQ(heap.stats().peakBytes, 70000u);
  EXPECT_EQ(heap.stats().totalAllocations, 1u) << "resizing is not a new allocation";
  ASSERT_TRUE(heap.free(p).ok());
}

TEST(Heap, ReallocOfNullAllocates) {
  Heap heap;
  void* p = heap.realloc(nullptr, 24);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*heap.size(p), 24u);
  EXPECT_EQ(heap.stats().totalAllocations, 1u);
}

TEST(Heap, ByteQuotaRefusesCleanlyAndRecovers) {
  Heap heap(HeapOptions{.name = "expert", .maxBytes = 1000});
  void* a = heap.alloc(600);
  ASSERT_NE(a, nullptr);
  Status why;
  EXPECT_EQ(heap.alloc(401, &why), nullptr);
  EXPECT_EQ(why.code(), Code::kLimitExceeded);
  EXPECT_THAT(why.message(), HasSubstr("heap 'expert' refused 401 bytes: quota 1000 bytes"));
  EXPECT_NE(heap.alloc(400), nullptr) << "exactly at the quota is allowed";
  EXPECT_EQ(heap.alloc(0) != nullptr, true) << "zero bytes still fit";
  // A failed realloc leaves the block as it was.
  why = Status();
  EXPECT_EQ(heap.realloc(a, 700, &why), nullptr);
  EXPECT_EQ(why.code(), Code::kLimitExceeded);
  EXPECT_EQ(*heap.size(a), 600u);
  EXPECT_EQ(heap.stats().liveBytes, 1000u);
  EXPECT_EQ(heap.stats().refusedAllocations, 2u);
  ASSERT_TRUE(heap.free(a).ok());
  EXPECT_NE(heap.alloc(600), nullptr) << "room again after a free";
}

TEST(Heap, BlockQuotaRefuses) {
  Heap heap(HeapOptions{.maxBlocks = 3});
  for (int i = 0; i < 3; ++i) ASSERT_NE(heap.alloc(8), nullptr);
  Status why;
  EXPECT_EQ(heap.alloc(8, &why), nullptr);
  EXPECT_THAT(why.message(), HasSubstr("3 blocks"));
}

TEST(Heap, AbsurdSizesAreRefusedNotAttempted) {
  Heap heap;
  Status why;
  EXPECT_EQ(heap.alloc(SIZE_MAX, &why), nullptr);
  EXPECT_EQ(why.code(), Code::kLimitExceeded);
  EXPECT_THAT(why.message(), HasSubstr("larger than any block"));
  void* p = heap.alloc(16);
  EXPECT_EQ(heap.realloc(p, SIZE_MAX - 8), nullptr);
  EXPECT_EQ(*heap.size(p), 16u);
  EXPECT_EQ(heap.stats().liveBytes, 16u);
}

TEST(Heap, ReleaseAllReclaimsEverythingAndReportsIt) {
  SlabPool::Stats before = SlabPool::instance().stats();
  {
    Heap heap;
    std::size_t bytes = 0;
    for (int i = 0; i < 10000; ++i) {
      std::size_t n = 1 + (i * 37) % 3000;
      ASSERT_NE(heap.alloc(n), nullptr);
      bytes += n;
    }
    ASSERT_NE(heap.alloc(1 << 16), nullptr);
    Reclaimed reclaimed = heap.releaseAll();
    EXPECT_EQ(reclaimed.blocks, 10001u);
    EXPECT_EQ(reclaimed.bytes, bytes + (1 << 16));
    EXPECT_EQ(heap.stats().liveBlocks, 0u);
    EXPECT_EQ(SlabPool::instance().stats().slabsInUse(), before.slabsInUse());
    // Still usable after a release.
    void* p = heap.alloc(32);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(heap.free(p).ok());
  }
  EXPECT_EQ(SlabPool::instance().stats().slabsInUse(), before.slabsInUse());
}

TEST(Heap, EmptySlabsGoBackToThePoolButOneStays) {
  SlabPool::Stats before = SlabPool::instance().stats();
  Heap heap;
  std::vector<void*> blocks;
  for (int i = 0; i < 20000; ++i) blocks.push_back(heap.alloc(16));  // about five slabs
  std::size_t inUse = SlabPool::instance().stats().slabsInUse() - before.slabsInUse();
  EXPECT_GE(inUse, 5u);
  for (void* p : blocks) ASSERT_TRUE(heap.free(p).ok());
  EXPECT_EQ(SlabPool::instance().stats().slabsInUse() - before.slabsInUse(), 1u);
}

TEST(Heap, ChildrenCountTowardTheParentAndDieFirst) {
  Heap parent(HeapOptions{.name = "host", .maxBytes = 100000});
  Heap* child = parent.createChild(HeapOptions{.name = "call"});
  ASSERT_NE(child, nullptr);
  Heap* grandchild = child->createChild(HeapOptions{.name = "node"});
  ASSERT_NE(grandchild, nullptr);
  std::size_t base = parent.stats().liveBytes;  // the child heap objects themselves
  ASSERT_NE(grandchild->alloc(1000), nullptr);
  ASSERT_NE(child->alloc(2000), nullptr);
  EXPECT_EQ(grandchild->stats().liveBytes, 1000u);
  EXPECT_EQ(child->stats().liveBytes, 3000u + sizeof(Heap));
  EXPECT_EQ(parent.stats().liveBytes, base + 3000u);
  // The parent's quota binds its descendants.
  Status why;
  EXPECT_EQ(grandchild->alloc(100000, &why), nullptr);
  EXPECT_THAT(why.message(), HasSubstr("heap 'host' refused"));
  // Destroying a child gives its memory back to every ancestor's count.
  ASSERT_TRUE(child->destroyChild(grandchild).ok());
  EXPECT_EQ(parent.stats().liveBytes, base + 2000u - sizeof(Heap));
  EXPECT_EQ(child->destroyChild(grandchild).code(), Code::kInvalidArgument);
  Heap stranger;
  EXPECT_EQ(parent.destroyChild(&stranger).code(), Code::kInvalidArgument);
  // Releasing the parent destroys the remaining child first.
  Reclaimed reclaimed = parent.releaseAll();
  EXPECT_EQ(reclaimed.bytes, 2000u + sizeof(Heap));
  EXPECT_EQ(parent.stats().liveBytes, 0u);
  EXPECT_EQ(parent.stats().liveBlocks, 0u);
}

TEST(Heap, ChildQuotaIsItsOwn) {
  Heap parent;
  Heap* child = parent.createChild(HeapOptions{.name = "small", .maxBlocks = 1});
  ASSERT_NE(child->alloc(1), nullptr);
  EXPECT_EQ(child->alloc(1), nullptr);
  EXPECT_NE(parent.alloc(1), nullptr);
}

TEST(Heap, InjectedFailureHitsTheNthAttemptAcrossTheTree) {
  Heap heap;
  Heap* child = heap.createChild({});
  heap.failAllocationAt(3);
  EXPECT_NE(heap.alloc(8), nullptr);
  EXPECT_NE(child->alloc(8), nullptr);
  Status why;
  EXPECT_EQ(child->alloc(8, &why), nullptr);
  EXPECT_EQ(why.code(), Code::kLimitExceeded);
  EXPECT_THAT(why.message(), HasSubstr("injected failure of allocation attempt"));
  EXPECT_NE(heap.alloc(8), nullptr) << "only the one attempt fails";
}

// A routine in the style custody users are written in: on any refusal it frees what it holds and
// returns the reason. The sweep proves it leaks nothing whichever allocation fails.
Status buildListAndIndex(Heap& heap) {
  struct Node {
    Node* next;
    int value;
  };
  Node* head = nullptr;
  void** index = nullptr;
  auto cleanup = [&] {
    while (head != nullptr) {
      Node* next = head->next;
      destroy(heap, head).ignore();
      head = next;
    }
    heap.free(index).ignore();
  };
  for (int i = 0; i < 40; ++i) {
    Result<Node*> node = make<Node>(heap, Node{head, i});
    if (!node.ok()) {
      cleanup();
      return node.status();
    }
    head = *node;
    Status why;
    void* grown = heap.realloc(index, sizeof(void*) * (i + 1) * 300, &why);
    if (grown == nullptr) {
      cleanup();
      return why;
    }
    index = static_cast<void**>(grown);
    index[i] = head;
  }
  cleanup();
  return Status();
}

TEST(Heap, FailureInjectionSweepLeavesNothingAlive) {
  std::vector<SweepStep> steps =
      sweepAllocationFailures([](Scope& scope) { return buildListAndIndex(scope.heap()); });
  ASSERT_EQ(steps.size(), 81u) << "40 nodes + 40 reallocs, then one clean run";
  for (const SweepStep& step : steps) {
    SCOPED_TRACE(step.failedAttempt);
    EXPECT_EQ(step.leftBehind.blocks, 0u) << "the routine promises to clean up after itself";
    EXPECT_EQ(step.leftBehind.bytes, 0u);
    EXPECT_EQ(step.liveAfterRelease, 0u);
    if (step.reached) {
      EXPECT_EQ(step.status.code(), Code::kLimitExceeded);
    } else {
      EXPECT_TRUE(step.status.ok());
    }
  }
  EXPECT_FALSE(steps.back().reached);
}

TEST(Heap, OwnedDestroysThroughItsHeap) {
  Heap heap;
  int destroyed = 0;
  struct Probe {
    int* counter;
    std::string text;
    ~Probe() { ++*counter; }
  };
  {
    Result<Owned<Probe>> owned = makeOwned<Probe>(heap, &destroyed, std::string(100, 'x'));
    ASSERT_TRUE(owned.ok());
    EXPECT_EQ(owned->heap(), &heap);
    EXPECT_EQ((*owned)->text.size(), 100u);
    Owned<Probe> moved = std::move(*owned);
    EXPECT_FALSE(*owned);
    EXPECT_EQ(heap.stats().liveBlocks, 1u);
  }
  EXPECT_EQ(destroyed, 1);
  EXPECT_EQ(heap.stats().liveBlocks, 0u);

  Heap tiny(HeapOptions{.maxBytes = 4});
  Result<Owned<Probe>> refused = makeOwned<Probe>(tiny, &destroyed, "");
  EXPECT_EQ(refused.status().code(), Code::kLimitExceeded);
  EXPECT_EQ(destroyed, 1);
}

TEST(Heap, ThrowingConstructorFreesItsBlock) {
  Heap heap;
  struct Throws {
    Throws() { throw std::runtime_error("no"); }
  };
  EXPECT_THROW((void)make<Throws>(heap), std::runtime_error);
  EXPECT_EQ(heap.stats().liveBlocks, 0u);
}

TEST(Heap, ThreadSafeTreeSurvivesConcurrentUse) {
  Heap heap(HeapOptions{.name = "shared", .threadSafe = true});
  Heap* child = heap.createChild({});
  constexpr int kRounds = 20000;
  auto worker = [&](Heap& h, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<void*> held;
    for (int i = 0; i < kRounds; ++i) {
      if (held.empty() || rng() % 3 != 0) {
        held.push_back(h.alloc(rng() % 600));
      } else {
        std::size_t k = rng() % held.size();
        ASSERT_TRUE(h.free(held[k]).ok());
        held[k] = held.back();
        held.pop_back();
      }
    }
    for (void* p : held) ASSERT_TRUE(h.free(p).ok());
  };
  std::thread a(worker, std::ref(heap), 1);
  std::thread b(worker, std::ref(*child), 2);
  a.join();
  b.join();
  EXPECT_EQ(heap.stats().liveBlocks, 1u) << "only the child heap object";
  EXPECT_EQ(child->stats().liveBlocks, 0u);
}

// Random alloc/realloc/free/size against a model of what is alive and what each block holds.
TEST(Heap, MatchesAModelUnderRandomOperations) {
  Heap heap(HeapOptions{.maxBytes = 8 << 20});
  struct Expected {
    std::size_t size;
    unsigned char fill;
  };
  std::map<void*, Expected> model;
  std::mt19937_64 rng(42);
  std::size_t liveBytes = 0;
  auto randomSize = [&]() -> std::size_t {
    switch (rng() % 8) {
      case 0:
        return rng() % 40000;  // large blocks too
      case 1:
        return rng() % 8193;
      default:
        return rng() % 300;
    }
  };
  auto check = [&](void* p, const Expected& e, std::size_t upTo) {
    auto* bytes = static_cast<unsigned char*>(p);
    for (std::size_t i = 0; i < std::min(e.size, upTo); ++i) {
      if (bytes[i] != e.fill) return false;
    }
    return true;
  };
  for (int step = 0; step < 30000; ++step) {
    unsigned op = rng() % 10;
    if (model.empty() || op < 4) {
      std::size_t n = randomSize();
      void* p = heap.alloc(n);
      if (liveBytes + n > (8u << 20)) {
        ASSERT_EQ(p, nullptr);
        continue;
      }
      ASSERT_NE(p, nullptr);
      ASSERT_EQ(model.count(p), 0u) << "handed out a live block twice";
      auto fill = static_cast<unsigned char>(rng());
      std::memset(p, fill, n);
      model[p] = {n, fill};
      liveBytes += n;
    } else {
      auto it = model.begin();
      std::advance(it, static_cast<long>(rng() % model.size()));
      auto [p, e] = *it;
      ASSERT_TRUE(check(p, e, e.size)) << "block contents changed under us";
      ASSERT_EQ(*heap.size(p), e.size);
      if (op < 7) {
        ASSERT_TRUE(heap.free(p).ok());
        model.erase(it);
        liveBytes -= e.size;
      } else {
        std::size_t n = randomSize();
        void* q = heap.realloc(p, n);
        if (liveBytes - e.size + n > (8u << 20)) {
          ASSERT_EQ(q, nullptr);
          continue;
        }
        ASSERT_NE(q, nullptr);
        ASSERT_TRUE(check(q, e, n));
        model.erase(it);
        auto fill = static_cast<unsigned char>(rng());
        std::memset(q, fill, n);
        model[q] = {n, fill};
        liveBytes = liveBytes - e.size + n;
      }
    }
    HeapStats stats = heap.stats();
    ASSERT_EQ(stats.liveBlocks, model.size()) << "step " << step;
    ASSERT_EQ(stats.liveBytes, liveBytes) << "step " << step;
  }
  Reclaimed reclaimed = heap.releaseAll();
  EXPECT_EQ(reclaimed.blocks, model.size());
  EXPECT_EQ(reclaimed.bytes, liveBytes);
}

#if defined(WARDEN_CUSTODY_ASAN)
TEST(HeapDeathTest, AsanSeesUseAfterFreeAndOverrunsPastTheRequestedSize) {
  Heap heap;
  auto* p = static_cast<volatile char*>(heap.alloc(20));
  EXPECT_DEATH(p[20] = 1, "use-after-poison");
  ASSERT_TRUE(heap.free(const_cast<char*>(p)).ok());
  EXPECT_DEATH((void)p[0], "use-after-poison");
}
#endif

}  // namespace
}  // namespace warden::custody
