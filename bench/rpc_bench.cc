// Round trips of a small call over loopback TCP, each client thread on its own connection:
// Warden's generated stubs over its DCE/RPC runtime, a raw TCP ping-pong of the same bytes (the
// request and response PDUs' sizes; the floor any protocol over TCP pays), and a gRPC unary call
// (Debian's libgrpc++, insecure channel, synchronous server). 1 and 8 client threads; real time,
// calls per second as items.
#include "rpc_bench.h"

#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "rpc/client.h"
#include "rpc/server.h"
#include "rpc/socket.h"
#include "rpc_bench.grpc.pb.h"

extern "C" int32_t m_Add(handle_t, int32_t a, int32_t b) { return a + b; }

namespace {

using namespace std::chrono_literals;

// Request PDU: 24-byte header + two longs; response: 24 + one long.
constexpr std::size_t kRequestBytes = 32;
constexpr std::size_t kResponseBytes = 28;

std::uint16_t wardenPort() {
  static warden::rpc::Server* server = [] {
    auto* s = new warden::rpc::Server();
    s->registerInterface(rpcbench_v1_0_s_ifspec);
    return s;
  }();
  static std::uint16_t port = server->listenTcp().value();
  return port;
}

void BM_Warden(benchmark::State& state) {
  auto binding = warden::rpc::ClientBinding::open("ncacn_ip_tcp:127.0.0.1[" +
                                                  std::to_string(wardenPort()) + "]");
  handle_t h = binding.value()->handle();
  int32_t a = state.thread_index();
  for (auto _ : state) {
    benchmark::DoNotOptimize(Add(h, a, 1));
  }
  state.SetItemsProcessed(state.iterations());
}

// A server that answers every kRequestBytes with kResponseBytes, a thread per connection.
std::uint16_t rawPort() {
  static std::uint16_t port = [] {
    auto listener =
        std::make_shared<warden::rpc::Socket>(warden::rpc::listenTcp("127.0.0.1", 0).value());
    std::uint16_t p = warden::rpc::localPort(*listener).value();
    std::thread([listener] {
      for (;;) {
        int fd = ::accept(listener->fd(), nullptr, nullptr);
        if (fd < 0) return;
        std::thread([fd] {
          warden::rpc::Socket s(fd);
          s.setSpin(true);  // as Warden's server does: the same socket code on both sides
          int one = 1;
          (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          std::vector<std::byte> in(kRequestBytes), out(kResponseBytes);
          while (s.readExactly(in, 60s).ok() && s.writeAll(out).ok()) {
          }
        }).detach();
      }
    }).detach();
    return p;
  }();
  return port;
}

void BM_RawPingPong(benchmark::State& state) {
  auto socket = warden::rpc::connectTcp("127.0.0.1", rawPort(), 5s);
  warden::rpc::Socket& s = socket.value();
  s.setSpin(true);  // as Warden's client does
  std::vector<std::byte> out(kRequestBytes), in(kResponseBytes);
  for (auto _ : state) {
    if (!s.writeAll(out).ok() || !s.readExactly(in, 5s).ok()) state.SkipWithError("raw I/O");
  }
  state.SetItemsProcessed(state.iterations());
}

class Adder final : public warden::bench::Adder::Service {
  grpc::Status Add(grpc::ServerContext*, const warden::bench::Pair* in,
                   warden::bench::Total* out) override {
    out->set_value(in->a() + in->b());
    return grpc::Status::OK;
  }
};

int grpcPort() {
  static int port = [] {
    static Adder service;
    int chosen = 0;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &chosen);
    builder.RegisterService(&service);
    static std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    return chosen;
  }();
  return port;
}

void BM_Grpc(benchmark::State& state) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection per thread, like the others
  auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(grpcPort()),
                                           grpc::InsecureChannelCredentials(), args);
  auto stub = warden::bench::Adder::NewStub(channel);
  warden::bench::Pair pair;
  pair.set_a(state.thread_index());
  pair.set_b(1);
  for (auto _ : state) {
    grpc::ClientContext context;
    warden::bench::Total total;
    if (!stub->Add(&context, pair, &total).ok()) state.SkipWithError("grpc call failed");
    benchmark::DoNotOptimize(total.value());
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_Warden)->Threads(1)->Threads(8)->UseRealTime()->MinTime(1.0);
BENCHMARK(BM_RawPingPong)->Threads(1)->Threads(8)->UseRealTime()->MinTime(1.0);
BENCHMARK(BM_Grpc)->Threads(1)->Threads(8)->UseRealTime()->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
