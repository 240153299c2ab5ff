// NDR marshal + unmarshal against protobuf serialize + parse in one binary: a complete binary tree
// (the MIDL example's TREE; protobuf's nested Tree message) of 10k and 1M nodes, and a 10 MB
// conformant byte array (a protobuf bytes field). Warden's side is one call of a generated client
// stub through the in-process transport: marshal, a copy of the request (the server's own
// buffer), unmarshal into the call's scope, a manager that only answers, the scope's release.
// bench/ndr_bench.sh runs it with impacket's time for the 10k tree and prints the ratios.
#include "ndr_bench.h"

#include <benchmark/benchmark.h>

#include <vector>

#include "ndr_bench.pb.h"
#include "warden/stub.h"

extern "C" {
int32_t m_SendTree(handle_t, PTREE root) { return root->sNumber; }
int32_t m_SendBytes(handle_t, uint32_t n, unsigned char* data) { return n ? data[0] : 0; }
}

namespace {

// A complete binary tree of n nodes in level order: node i's children are 2i+1 and 2i+2.
std::vector<TREE> ndrTree(std::size_t n) {
  std::vector<TREE> nodes(n);
  for (std::size_t i = 0; i < n; ++i) {
    nodes[i].sNumber = static_cast<short>(i);
    nodes[i].pLeft = 2 * i + 1 < n ? &nodes[2 * i + 1] : nullptr;
    nodes[i].pRight = 2 * i + 2 < n ? &nodes[2 * i + 2] : nullptr;
  }
  return nodes;
}

void fill(ndrbench::Tree* t, std::size_t i, std::size_t n) {
  t->set_number(static_cast<short>(i));
  if (2 * i + 1 < n) fill(t->mutable_left(), 2 * i + 1, n);
  if (2 * i + 2 < n) fill(t->mutable_right(), 2 * i + 2, n);
}

struct Server {
  warden::stub::InProcessServer server;
  handle_t h;
  Server() {
    server.registerInterface(ndrbench_v1_0_s_ifspec);
    h = server.bind();
  }
};

void BM_WardenTree(benchmark::State& state) {
  Server s;
  std::vector<TREE> nodes = ndrTree(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(SendTree(s.h, nodes.data()));
  state.counters["wire_bytes"] = static_cast<double>(s.server.lastRequest().size());
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_ProtobufTree(benchmark::State& state) {
  ndrbench::Tree tree;
  fill(&tree, 0, static_cast<std::size_t>(state.range(0)));
  std::string wire;
  for (auto _ : state) {
    wire.clear();
    tree.SerializeToString(&wire);
    google::protobuf::Arena arena;
    auto* parsed = google::protobuf::Arena::CreateMessage<ndrbench::Tree>(&arena);
    benchmark::DoNotOptimize(parsed->ParseFromString(wire));
  }
  state.counters["wire_bytes"] = static_cast<double>(wire.size());
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_ProtobufTreeNoArena(benchmark::State& state) {
  ndrbench::Tree tree;
  fill(&tree, 0, static_cast<std::size_t>(state.range(0)));
  std::string wire;
  for (auto _ : state) {
    wire.clear();
    tree.SerializeToString(&wire);
    ndrbench::Tree parsed;
    benchmark::DoNotOptimize(parsed.ParseFromString(wire));
  }
  state.counters["wire_bytes"] = static_cast<double>(wire.size());
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_WardenBytes(benchmark::State& state) {
  Server s;
  std::vector<unsigned char> data(static_cast<std::size_t>(state.range(0)), 0x5a);
  for (auto _ : state) {
    benchmark::DoNotOptimize(SendBytes(s.h, static_cast<uint32_t>(data.size()), data.data()));
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_ProtobufBytes(benchmark::State& state) {
  ndrbench::Bytes message;
  message.set_data(std::string(static_cast<std::size_t>(state.range(0)), '\x5a'));
  std::string wire;
  for (auto _ : state) {
    wire.clear();
    message.SerializeToString(&wire);
    ndrbench::Bytes parsed;
    benchmark::DoNotOptimize(parsed.ParseFromString(wire));
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

BENCHMARK(BM_WardenTree)->Arg(10'000)->Arg(1 << 20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ProtobufTree)->Arg(10'000)->Arg(1 << 20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ProtobufTreeNoArena)->Arg(10'000)->Arg(1 << 20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WardenBytes)->Arg(10 << 20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ProtobufBytes)->Arg(10 << 20)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
