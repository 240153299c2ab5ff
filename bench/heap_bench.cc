// custody::Heap against glibc malloc/free in the same binary: single alloc+free pairs per size,
// batches of mixed sizes freed in random order, and the bulk release of 1M blocks (releaseAll vs
// freeing each malloc block). bench/heap_ratios.py runs this and prints median ratios.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <vector>

#include "custody/heap.h"

namespace {

using warden::custody::Heap;

struct MallocApi {
  void* alloc(std::size_t n) { return std::malloc(n); }
  void free(void* p) { std::free(p); }
};

struct HeapApi {
  Heap heap;
  void* alloc(std::size_t n) { return heap.alloc(n); }
  void free(void* p) { heap.free(p).ignore(); }
};

// One block allocated, touched and freed per iteration.
template <typename Api>
void BM_AllocFree(benchmark::State& state) {
  Api api;
  auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* p = api.alloc(n);
    benchmark::DoNotOptimize(p);
    static_cast<char*>(p)[0] = 1;
    api.free(p);
  }
}

// 1,000 live blocks of 16..4096 bytes, freed in a shuffled order: the pattern of a real owner.
template <typename Api>
void BM_BatchMixed(benchmark::State& state) {
  Api api;
  std::mt19937 rng(1);
  std::vector<std::size_t> sizes(1000);
  for (auto& s : sizes) s = 16 + rng() % 4081;
  std::vector<std::size_t> order(sizes.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<void*> blocks(sizes.size());
  for (auto _ : state) {
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      blocks[i] = api.alloc(sizes[i]);
      static_cast<char*>(blocks[i])[0] = 1;
    }
    for (std::size_t i : order) api.free(blocks[i]);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(sizes.size()));
}

// Bulk release of 1M blocks of 16..256 bytes: Heap::releaseAll vs a free() per malloc block.
// Only the release is timed; "ns_per_block" is the figure the goal is stated in.
constexpr std::size_t kBulkBlocks = 1'000'000;

void BM_ReleaseAll_Heap(benchmark::State& state) {
  Heap heap;
  std::mt19937 rng(2);
  for (auto _ : state) {
    state.PauseTiming();
    for (std::size_t i = 0; i < kBulkBlocks; ++i) heap.alloc(16 + rng() % 241);
    state.ResumeTiming();
    heap.releaseAll();
  }
  // Seconds per block (an inverted rate); heap_ratios.py prints it in ns.
  state.counters["ns_per_block"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kBulkBlocks),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_ReleaseAll_Malloc(benchmark::State& state) {
  std::mt19937 rng(2);
  std::vector<void*> blocks(kBulkBlocks);
  for (auto _ : state) {
    state.PauseTiming();
    for (auto& p : blocks) p = std::malloc(16 + rng() % 241);
    state.ResumeTiming();
    for (void* p : blocks) std::free(p);
  }
  // Seconds per block (an inverted rate); heap_ratios.py prints it in ns.
  state.counters["ns_per_block"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kBulkBlocks),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

BENCHMARK_TEMPLATE(BM_AllocFree, MallocApi)->Arg(16)->Arg(64)->Arg(256)->Arg(1024)->Arg(4096);
BENCHMARK_TEMPLATE(BM_AllocFree, HeapApi)->Arg(16)->Arg(64)->Arg(256)->Arg(1024)->Arg(4096);
BENCHMARK_TEMPLATE(BM_BatchMixed, MallocApi);
BENCHMARK_TEMPLATE(BM_BatchMixed, HeapApi);
BENCHMARK(BM_ReleaseAll_Malloc)->Unit(benchmark::kMillisecond)->Iterations(5);
BENCHMARK(BM_ReleaseAll_Heap)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace

BENCHMARK_MAIN();
