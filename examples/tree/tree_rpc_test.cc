// The tree service between processes' worth of separation: the same generated stubs over Warden's
// DCE/RPC runtime on loopback TCP and on an AF_UNIX socket (ncalrpc), impacket as a second
// client, context handles run down when a client's connection dies, and a server that stays up
// and bounded under malformed PDUs.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <numeric>
#include <thread>
#include <vector>

#include "arena.h"
#include "rpc/client.h"
#include "rpc/endpoint_map.h"
#include "rpc/pdu.h"
#include "rpc/server.h"
#include "rpc/socket.h"
#include "testsupport/oracle.h"
#include "tree.h"

extern "C" int rundowns;  // tree_test.cc's COUNTER_rundown counts them

namespace {

using namespace std::chrono_literals;

class TreeRpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.registerInterface(tree_v1_0_s_ifspec);
    auto port = server_.listenTcp();
    ASSERT_TRUE(port.ok()) << port.status().toString();
    port_ = port.value();
    auto client =
        warden::rpc::ClientBinding::open(fmt::format("ncacn_ip_tcp:127.0.0.1[{}]", port_));
    ASSERT_TRUE(client.ok()) << client.status().toString();
    client_ = std::move(client).value();
  }

  // Waits (briefly) for the server's threads to catch up with what the client did.
  template <typename Done>
  static bool eventually(Done done) {
    for (int i = 0; i < 500 && !done(); ++i) std::this_thread::sleep_for(10ms);
    return done();
  }

  warden::rpc::Server server_;
  std::uint16_t port_ = 0;
  std::unique_ptr<warden::rpc::ClientBinding> client_;
};

// Frees a tree the client stubs built (one midl_user_allocate block per node); its node count.
int freeTree(TREE* root) {
  std::vector<TREE*> stack{root};
  int nodes = 0;
  while (!stack.empty()) {
    TREE* t = stack.back();
    stack.pop_back();
    if (t == nullptr) continue;
    ++nodes;
    stack.push_back(t->pLeft);
    stack.push_back(t->pRight);
    midl_user_free(t);
  }
  return nodes;
}

TREE* leaf(TREE* storage, short number) {
  *storage = TREE{number, nullptr, nullptr};
  return storage;
}

TEST_F(TreeRpcTest, CallsCrossLoopbackTcpWithTheMemoryModelIntact) {
  TREE n[3];
  leaf(&n[0], 1)->pLeft = leaf(&n[1], 2);
  n[0].pRight = leaf(&n[2], 3);
  EXPECT_EQ(Sum(client_->handle(), &n[0]), 6);
  // A new tree comes back into memory from the client's allocator.
  PTREE built = nullptr;
  Build(client_->handle(), 3, &built);
  ASSERT_NE(built, nullptr);
  EXPECT_EQ(built->sNumber, 1);
  ASSERT_NE(built->pLeft, nullptr);
  ASSERT_NE(built->pRight, nullptr);
  const int nodes = freeTree(built);
  EXPECT_EQ(nodes, 7);
  // The server's fault travels as a fault PDU ([fault_status] returns it).
  EXPECT_EQ(Fail(client_->handle(), 0x1234), 0x1234u);
  EXPECT_EQ(server_.stats().connections, 1u);  // one connection, reused
  EXPECT_EQ(server_.stats().liveCalls, 0u);
}

TEST_F(TreeRpcTest, LargeRequestsAndRepliesTravelInFragments) {
  std::vector<unsigned char> data(200'000);
  std::iota(data.begin(), data.end(), 0);
  const int32_t expected = std::accumulate(data.begin(), data.end(), 0);
  EXPECT_EQ(Checksum(client_->handle(), static_cast<uint32_t>(data.size()), data.data()), expected);
  EXPECT_EQ(client_->negotiatedFragment(), 5840);
  // 4095 nodes of 12 bytes come back in about ten response fragments.
  PTREE built = nullptr;
  Build(client_->handle(), 12, &built);
  const int nodes = freeTree(built);
  EXPECT_EQ(nodes, 4095);
}

TEST_F(TreeRpcTest, ContextHandlesRunDownWhenTheClientConnectionDies) {
  COUNTER a = nullptr;
  COUNTER b = nullptr;
  Open(client_->handle(), 10, &a);
  Open(client_->handle(), 20, &b);
  EXPECT_EQ(Next(a), 11);
  EXPECT_EQ(Next(b), 21);
  rundowns = 0;
  client_->disconnect();  // the client goes away without closing its handles
  EXPECT_TRUE(eventually([] { return rundowns == 2; })) << rundowns;
  delete static_cast<warden::stub::ClientContext*>(a);  // the client's side of the dead handles
  delete static_cast<warden::stub::ClientContext*>(b);
}

// A second interface on the same connection is added with alter_context, not a new connection;
// the server registers it while listening (as RpcServerRegisterIf may be called then), and the
// endpoint map learns it.
TEST(TreeRpcAlter, ASecondInterfaceJoinsTheAssociation) {
  warden::rpc::Server server;
  server.registerInterface(tree_v1_0_s_ifspec);
  auto port = server.listenTcp();
  ASSERT_TRUE(port.ok());
  auto client =
      warden::rpc::ClientBinding::open(fmt::format("ncacn_ip_tcp:127.0.0.1[{}]", port.value()));
  ASSERT_TRUE(client.ok());
  TREE n{3, nullptr, nullptr};
  EXPECT_EQ(Sum(client.value()->handle(), &n), 3);
  const auto& arena = warden::stub::spec(arena_v1_0_s_ifspec).id;
  auto at = [&] {
    std::size_t n = 0;
    for (const auto& e : warden::rpc::endpointMap().find(&arena, {}))
      n += e.tower.port == port.value();
    return n;
  };
  EXPECT_EQ(at(), 0u);
  server.registerInterface(arena_v1_0_s_ifspec);  // listening, with a client bound
  EXPECT_EQ(at(), 1u);
  LINK* list = nullptr;
  MakeList(client.value()->handle(), 3, 0, &list);
  int32_t total = 0;
  while (list != nullptr) {
    total += list->value;
    LINK* next = list->next;
    midl_user_free(list);
    list = next;
  }
  EXPECT_EQ(total, 6);
  EXPECT_EQ(Sum(client.value()->handle(), &n), 3);  // the first context is still there
  EXPECT_EQ(server.stats().connections, 1u);
  EXPECT_EQ(server.stats().faults, 0u);
}

TEST_F(TreeRpcTest, AnInterfaceTheServerDoesNotOfferIsACommunicationFailure) {
  auto other = warden::rpc::ClientBinding::open(fmt::format("ncacn_ip_tcp:127.0.0.1[{}]", port_));
  ASSERT_TRUE(other.ok());
  LINK* list = nullptr;
  try {
    MakeList(other.value()->handle(), 1, 0, &list);
    FAIL() << "the arena interface is not registered";
  } catch (const warden::ndr::Fault& f) {
    EXPECT_EQ(f.status(), warden::rpc::kRpcUnknownInterface);
    EXPECT_EQ(f.origin(), warden::ndr::Fault::Origin::kCommunication);
  }
  // [comm_status] returns a refused connection as a status.
  auto nowhere = warden::rpc::ClientBinding::open("ncacn_ip_tcp:127.0.0.1[1]");
  ASSERT_TRUE(nowhere.ok());
  EXPECT_EQ(Reach(nowhere.value()->handle()), warden::rpc::kRpcServerUnavailable);
}

TEST_F(TreeRpcTest, NcalrpcUsesAPrivateUnixSocket) {
  const std::string dir = warden::testing::makeTempDir("warden-ncalrpc");
  const std::string path = dir + "/tree";
  ASSERT_TRUE(server_.listenUnix(path).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto local = warden::rpc::ClientBinding::open("ncalrpc:[" + path + "]");
  ASSERT_TRUE(local.ok()) << local.status().toString();
  TREE n{7, nullptr, nullptr};
  EXPECT_EQ(Sum(local.value()->handle(), &n), 7);
  local.value()->disconnect();
  server_.stop();
  EXPECT_FALSE(std::filesystem::exists(path));  // stop() removes the socket file
  std::filesystem::remove_all(dir);
}

// Raw bytes to the server: each hostile input gets the answer C706 and Samba give (a bind_nak
// or a fault, then the connection closes) and the server keeps serving.
TEST_F(TreeRpcTest, MalformedPdusCloseTheConnectionAndTheServerStaysUp) {
  using namespace warden::rpc;
  auto exchange = [&](std::vector<std::byte> bytes, bool bindFirst, bool closes = true) {
    auto s = connectTcp("127.0.0.1", port_, 5s);
    EXPECT_TRUE(s.ok());
    Socket socket = std::move(s).value();
    if (bindFirst) {
      Bind b;
      b.contexts.push_back({0, warden::stub::spec(tree_v1_0_c_ifspec).id, {warden::stub::kNdr20}});
      std::vector<std::byte> bind;
      writeBind(bind, PType::kBind, 1, b);
      EXPECT_TRUE(socket.writeAll(bind).ok());
      std::vector<std::byte> ack(kHeaderSize);
      EXPECT_TRUE(socket.readExactly(ack, 5s).ok());
      auto h = parseHeader(ack);
      ack.resize(h.value().fragLength);
      EXPECT_TRUE(socket.readExactly(std::span(ack).subspan(kHeaderSize), 5s).ok());
    }
    (void)socket.writeAll(bytes);
    // What comes back before the server closes: the type of the first PDU, or -1.
    std::vector<std::byte> header(kHeaderSize);
    int type = -1;
    if (socket.readExactly(header, 5s).ok()) type = std::to_integer<int>(header[2]);
    if (!closes) return type;
    warden::Status end;
    for (;;) {
      std::vector<std::byte> one(1);
      end = socket.readExactly(one, 5s);
      if (!end.ok()) break;
    }
    EXPECT_EQ(end.code(), warden::Code::kDisconnected) << end.toString();
    return type;
  };
  auto hex = [](std::string_view text) {
    std::vector<std::byte> out;
    for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
      out.push_back(static_cast<std::byte>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16)));
    }
    return out;
  };
  const int kFault = 3, kBindNak = 13;
  // A header cut short, then the client leaves: the server waits for the rest, then sees it go.
  {
    auto s = connectTcp("127.0.0.1", port_, 5s);
    ASSERT_TRUE(s.ok());
    EXPECT_TRUE(s.value().writeAll(hex("05000b0310")).ok());
  }
  // frag_length below the header's own 16 bytes.
  EXPECT_EQ(exchange(hex("05000b03100000000800000001000000"), false), kBindNak);
  // An unknown PTYPE, after bind.
  EXPECT_EQ(exchange(hex("05002a03100000001000000001000000"), true), kFault);
  // A request before bind.
  EXPECT_EQ(exchange(hex("0500000310000000180000000100000000000000000000000"), false), kBindNak);
  // A fragment larger than the 5840 bytes agreed.
  EXPECT_EQ(exchange(hex("05000001100000000040000002000000"), true), kFault);
  // A request of 10,000 fragments of 4 KiB: over the 4 MiB cap long before the last one.
  {
    std::vector<std::byte> many;
    std::vector<std::byte> stub(4096);
    for (int i = 0; i < 10'000; ++i) {
      Request q;
      q.opnum = 20;
      q.stub = stub;
      writeRequest(many, i == 0 ? kFirstFrag : 0, 2, q);
    }
    EXPECT_EQ(exchange(many, true), kFault);
  }
  // size_is 2^31 in a 12-byte request: a fault from the stub, which refuses before allocating,
  // and the connection stays open.
  {
    auto stub =
        hex("00000080"
            "00000080"
            "01020304");  // Checksum: n, max_count, 4 bytes
    std::vector<std::byte> request;
    Request q;
    q.opnum = 20;
    q.stub = stub;
    writeRequest(request, kFirstFrag | kLastFrag, 2, q);
    EXPECT_EQ(exchange(request, true, false), kFault);
  }
  EXPECT_TRUE(eventually([&] { return server_.stats().liveCalls == 0; }));
  unsigned char one = 7;
  EXPECT_EQ(Checksum(client_->handle(), 1, &one), 7);
  EXPECT_GE(server_.stats().protocolErrors, 5u);
  // Only the well-behaved client's connection stays (the others close as their threads finish).
  EXPECT_TRUE(eventually([&] { return server_.stats().liveConnections == 1; }))
      << server_.stats().liveConnections;
}

TEST_F(TreeRpcTest, ImpacketIsAClientOfOurServer) {
  auto result =
      warden::testing::run(fmt::format("cd {} && /usr/bin/python3 impacket_client.py {}",
                                       warden::testing::shellQuote(TREE_EXAMPLE_DIR), port_),
                           warden::testing::Stderr::kMerge);
  ASSERT_TRUE(result.ok());
  if (result->out.find("No module named 'impacket'") != std::string::npos) {
    GTEST_SKIP() << "python3-impacket is not installed";
  }
  EXPECT_EQ(result->exitCode, 0) << result->out;
  EXPECT_EQ(result->out.rfind("ok sum 6 grid 130", 0), 0u) << result->out;
  // An NTLM bind gets bind_nak reason 8, as impacket reads it.
  EXPECT_NE(result->out.find("ntlm: DCERPC Runtime Error: code: 0x8 - Authentication type not "
                             "recognized"),
            std::string::npos)
      << result->out;
  std::cout << "impacket: " << result->out;
  EXPECT_EQ(server_.stats().liveCalls, 0u);
}

// 200 clients at once, a quarter leaving in the middle of sending a request and a quarter right
// after sending one: every call scope ends, every connection closes, the server keeps serving.
TEST_F(TreeRpcTest, TwoHundredConcurrentClientsWithDisconnectsLeaveNothingAlive) {
  using namespace warden::rpc;
  constexpr int kClients = 200;
  std::atomic<int> wrong{0};
  auto bound = [&](Socket& socket) {
    Bind b;
    b.contexts.push_back({0, warden::stub::spec(tree_v1_0_c_ifspec).id, {warden::stub::kNdr20}});
    std::vector<std::byte> bind;
    writeBind(bind, PType::kBind, 1, b);
    std::vector<std::byte> ack(kHeaderSize);
    if (!socket.writeAll(bind).ok() || !socket.readExactly(ack, 10s).ok()) return false;
    auto h = parseHeader(ack);
    if (!h.ok()) return false;
    ack.resize(h.value().fragLength);
    return socket.readExactly(std::span(ack).subspan(kHeaderSize), 10s).ok();
  };
  auto client = [&](int i) {
    if (i % 4 < 2) {
      auto s = connectTcp("127.0.0.1", port_, 10s);
      if (!s.ok() || !bound(s.value())) {
        ++wrong;
        return;
      }
      std::vector<std::byte> request;
      Request q;
      std::vector<std::byte> stub = {std::byte{12}, std::byte{0}};  // Build: depth 12
      q.opnum = 2;
      q.stub = stub;
      // A first fragment and no more (the client dies mid-request), or a whole request whose
      // reply nobody reads.
      writeRequest(request, i % 4 == 0 ? kFirstFrag : kFirstFrag | kLastFrag, 2, q);
      (void)s.value().writeAll(request);
      return;  // the socket closes here
    }
    auto binding = ClientBinding::open(fmt::format("ncacn_ip_tcp:127.0.0.1[{}]", port_));
    if (!binding.ok()) {
      ++wrong;
      return;
    }
    for (short k = 0; k < 5; ++k) {
      TREE n{static_cast<short>(i), nullptr, nullptr};
      if (Sum(binding.value()->handle(), &n) != i) ++wrong;
      PTREE built = nullptr;
      Build(binding.value()->handle(), 4, &built);
      if (freeTree(built) != 15) ++wrong;
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) threads.emplace_back(client, i);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong, 0);
  client_->disconnect();
  EXPECT_TRUE(eventually([&] {
    return server_.stats().liveConnections == 0 && server_.stats().liveCalls == 0;
  })) << server_.stats().liveConnections
      << " connections, " << server_.stats().liveCalls << " calls alive";
  EXPECT_GE(server_.stats().connections, std::uint64_t{kClients});
  TREE n{9, nullptr, nullptr};
  EXPECT_EQ(Sum(client_->handle(), &n), 9);
}

// impacket's DCERPCServer hosts Sum and Grid (impacket_server.py); the generated client calls it
// over Warden's runtime: another implementation's bind_ack, responses and NDR.
TEST(TreeRpcPeer, OurClientCallsImpacketsServer) {
  const std::string dir = warden::testing::makeTempDir("warden-impacket-server");
  auto started = warden::testing::run(
      fmt::format("cd {} && (/usr/bin/python3 impacket_server.py >{}/log 2>&1 & echo $!)",
                  warden::testing::shellQuote(TREE_EXAMPLE_DIR), warden::testing::shellQuote(dir)));
  ASSERT_TRUE(started.ok());
  const std::string pid = started->out.substr(0, started->out.find('\n'));
  std::string log;
  for (int i = 0; i < 500 && log.find('\n') == std::string::npos; ++i) {
    std::this_thread::sleep_for(10ms);
    auto read = warden::testing::run("cat " + warden::testing::shellQuote(dir + "/log"));
    if (read.ok()) log = read->out;
  }
  if (log.find("No module named 'impacket'") != std::string::npos) {
    GTEST_SKIP() << "python3-impacket is not installed";
  }
  ASSERT_EQ(log.rfind("port ", 0), 0u) << log;
  const int port = std::stoi(log.substr(5));
  auto binding = warden::rpc::ClientBinding::open(fmt::format("ncacn_ip_tcp:127.0.0.1[{}]", port));
  ASSERT_TRUE(binding.ok());
  TREE n[3];
  leaf(&n[0], 10)->pLeft = leaf(&n[1], 20);
  n[0].pRight = leaf(&n[2], 30);
  EXPECT_EQ(Sum(binding.value()->handle(), &n[0]), 60);
  int16_t fixed[2][3] = {{1, 2, 3}, {4, 5, 6}};
  int32_t m[2][2] = {{10, 20}, {30, 40}};
  alignas(GRID) unsigned char memory[sizeof(GRID) + sizeof(int16_t[3])];
  auto* g = reinterpret_cast<GRID*>(memory);
  g->rows = 2;
  int16_t(*cells)[3] = g->cells;
  for (int j = 0; j < 3; ++j) {
    cells[0][j] = 1;
    cells[1][j] = 2;
  }
  int16_t transposed[3][2] = {};
  EXPECT_EQ(Grid(binding.value()->handle(), fixed, 2, m, g, transposed), 130);
  EXPECT_EQ(transposed[2][0], 3);
  EXPECT_EQ(transposed[2][1], 6);
  binding.value()->disconnect();
  (void)warden::testing::run("kill " + pid);
  std::filesystem::remove_all(dir);
}

#ifdef TREE_WINE_DIR
// Wine's rpcrt4 as the peer (cmake -DWARDEN_WINE_INTEROP=ON): the same tree.idl through widl,
// Winelib programs under `wine`, over ncacn_ip_tcp. WINEPREFIX lives in the build tree.
std::string wineCommand(const std::string& program, const std::string& args) {
  return fmt::format("cd {0} && WINEPREFIX={0}/prefix WINEDEBUG=-all timeout 300 {1} ./{2} {3}",
                     warden::testing::shellQuote(TREE_WINE_DIR), TREE_WINE, program, args);
}

// Wine's client calls our server: Sum, Change, Build, Visit, Checksum, a context handle and a
// fault, each checked by the client against what our managers answer (tree_client.c).
TEST_F(TreeRpcTest, WinesClientCallsOurServer) {
  auto result = warden::testing::run(
      wineCommand("tree_client.exe",
                  warden::testing::shellQuote(fmt::format("ncacn_ip_tcp:127.0.0.1[{}]", port_))) +
      " 2>&1 | grep -v 'wine32\\|multiarch\\|dpkg --add\\|apt-get install\\|"
      "I_RpcReceive'");
  ASSERT_TRUE(result.ok());
  result->out.insert(0, "\n");  // every line starts after a newline (Wine may print its own)
  std::cout << "wine client:" << result->out;
  EXPECT_NE(result->out.find("\nok sum 10 built 120 visit 3 checksum 126516 next 42 fault 0x1234"),
            std::string::npos)
      << result->out;
  EXPECT_EQ(result->out.find("wrong"), std::string::npos) << result->out;
  EXPECT_TRUE(eventually([&] { return server_.stats().liveCalls == 0; }));
}

// Our generated client calls Wine's server (tree_server.c): Wine's bind_ack, responses, faults,
// context handles and NDR, including a [ptr] graph with an alias.
TEST(TreeRpcPeer, OurClientCallsWinesServer) {
  int probe = socket(AF_INET, SOCK_STREAM, 0);  // a free port for Wine to listen on
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof any;
  ASSERT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&any), sizeof any), 0);
  ASSERT_EQ(getsockname(probe, reinterpret_cast<sockaddr*>(&any), &length), 0);
  const int port = ntohs(any.sin_port);
  close(probe);
  const std::string log = std::string(TREE_WINE_DIR) + "/server.log";
  auto started = warden::testing::run(
      fmt::format("({} > {} 2>&1 & echo $!)", wineCommand("tree_server.exe", std::to_string(port)),
                  warden::testing::shellQuote(log)));
  ASSERT_TRUE(started.ok());
  const std::string pid = started->out.substr(0, started->out.find('\n'));
  std::string text;
  for (int i = 0; i < 6000 && text.find("listening") == std::string::npos; ++i) {
    std::this_thread::sleep_for(10ms);
    auto read = warden::testing::run("cat " + warden::testing::shellQuote(log));
    if (read.ok()) text = read->out;
  }
  ASSERT_NE(text.find("listening"), std::string::npos) << text;
  warden::rpc::ClientOptions options;
  options.acceptMismatchedCallIds = true;  // Wine answers every call with the bind's call_id
  auto binding =
      warden::rpc::ClientBinding::open(fmt::format("ncacn_ip_tcp:127.0.0.1[{}]", port), options);
  ASSERT_TRUE(binding.ok()) << binding.status().toString();
  handle_t h = binding.value()->handle();

  TREE n[4];
  leaf(&n[0], 1)->pLeft = leaf(&n[1], 2);
  n[0].pRight = leaf(&n[2], 3);
  n[1].pLeft = leaf(&n[3], 4);
  EXPECT_EQ(Sum(h, &n[0]), 10);
  Change(h, &n[0]);  // Wine's manager: the same changes as ours
  EXPECT_EQ(n[0].pRight, nullptr);
  EXPECT_EQ(n[0].sNumber, 2);
  EXPECT_EQ(n[1].sNumber, 4);
  EXPECT_EQ(n[3].sNumber, 8);
  ASSERT_NE(n[3].pLeft, nullptr);  // a new node, from our allocator
  EXPECT_EQ(n[3].pLeft->sNumber, -8);
  midl_user_free(n[3].pLeft);

  PTREE built = nullptr;
  Build(h, 4, &built);
  ASSERT_NE(built, nullptr);
  EXPECT_EQ(built->pRight->sNumber, 9);
  EXPECT_EQ(freeTree(built), 15);

  GNODE a{1, nullptr, nullptr}, b{2, nullptr, nullptr}, c{3, nullptr, nullptr};
  a.a = &b;
  a.b = &c;
  b.a = &c;  // an alias. No cycle: Wine 8.0's server sends a pointer back to a node it has
             // already marshalled as null (and its client recurses on one until the stack ends)
  EXPECT_EQ(Visit(h, &a), 3);
  EXPECT_EQ(a.id, 101);
  EXPECT_EQ(b.id, 102);
  EXPECT_EQ(c.id, 103);
  EXPECT_EQ(a.a, &b);  // the graph's shape comes back into the same nodes
  EXPECT_EQ(a.b, &c);
  EXPECT_EQ(b.a, &c);
  EXPECT_EQ(c.a, nullptr);

  std::vector<unsigned char> data(20'000);  // four request fragments
  std::iota(data.begin(), data.end(), 0);
  EXPECT_EQ(Checksum(h, static_cast<uint32_t>(data.size()), data.data()),
            std::accumulate(data.begin(), data.end(), 0));

  COUNTER counter = nullptr;
  Open(h, 41, &counter);
  ASSERT_NE(counter, nullptr);
  EXPECT_EQ(Next(counter), 42);
  Close(&counter);
  EXPECT_EQ(counter, nullptr);

  EXPECT_EQ(Fail(h, 0x1234), 0x1234u);  // Wine's fault PDU, returned by [fault_status]
  // Every call (call_ids 2 to 10) came back marked 1, the bind's.
  EXPECT_EQ(binding.value()->mismatchedCallIds(), 9u);
  binding.value()->disconnect();
  (void)warden::testing::run("kill " + pid + "; sleep 0.2; " +
                             fmt::format("WINEPREFIX={}/prefix wineserver -k", TREE_WINE_DIR));
}
#endif

// A program written the MIDL way, with the C API: the server uses a protocol sequence and an
// endpoint, registers the interface and listens; the client composes a string binding, binds,
// calls, catches an RPC exception with RpcTryExcept and frees what it made.
TEST(TreeRpcCApi, AMidlStyleClientAndServer) {
  const std::string dir = warden::testing::makeTempDir("warden-c-api");
  const std::string socket = dir + "/tree";
  ASSERT_EQ(
      RpcServerUseProtseqEp(reinterpret_cast<RPC_CSTR>(const_cast<char*>("ncalrpc")),
                            RPC_C_PROTSEQ_MAX_REQS_DEFAULT,
                            reinterpret_cast<RPC_CSTR>(const_cast<char*>(socket.c_str())), nullptr),
      RPC_S_OK);
  ASSERT_EQ(RpcServerRegisterIf(tree_v1_0_s_ifspec, nullptr, nullptr), RPC_S_OK);
  // The server's main thread listens until RpcMgmtStopServerListening.
  std::thread listener(
      [] { EXPECT_EQ(RpcServerListen(1, RPC_C_LISTEN_MAX_CALLS_DEFAULT, 0), RPC_S_OK); });
  for (int i = 0; i < 500 && !std::filesystem::exists(socket); ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(RpcServerListen(1, RPC_C_LISTEN_MAX_CALLS_DEFAULT, 1), RPC_S_ALREADY_LISTENING);
  EXPECT_EQ(RpcServerRegisterIf(arena_v1_0_s_ifspec, nullptr, nullptr), RPC_S_OK);  // listening

  RPC_CSTR text = nullptr;
  ASSERT_EQ(RpcStringBindingCompose(
                nullptr, reinterpret_cast<RPC_CSTR>(const_cast<char*>("ncalrpc")), nullptr,
                reinterpret_cast<RPC_CSTR>(const_cast<char*>(socket.c_str())), nullptr, &text),
            RPC_S_OK);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(text)), "ncalrpc:[" + socket + "]");
  RPC_BINDING_HANDLE binding = nullptr;
  ASSERT_EQ(RpcBindingFromStringBinding(text, &binding), RPC_S_OK);
  EXPECT_EQ(RpcStringFree(&text), RPC_S_OK);
  EXPECT_EQ(text, nullptr);
  TREE n{41, nullptr, nullptr};
  EXPECT_EQ(Sum(binding, &n), 41);

  // An exception raised by the runtime, caught the MIDL way.
  RPC_BINDING_HANDLE nowhere = nullptr;
  ASSERT_EQ(
      RpcBindingFromStringBinding(
          reinterpret_cast<RPC_CSTR>(const_cast<char*>("ncacn_ip_tcp:127.0.0.1[1]")), &nowhere),
      RPC_S_OK);
  unsigned long caught = 0;
  RpcTryExcept { (void)Sum(nowhere, &n); }
  RpcExcept(RpcExceptionFilter(RpcExceptionCode())) { caught = RpcExceptionCode(); }
  RpcEndExcept;
  EXPECT_EQ(caught, static_cast<unsigned long>(RPC_S_SERVER_UNAVAILABLE));
  // RpcRaiseException inside RpcTryFinally: the finally block runs, the exception goes on.
  bool finallyRan = false;
  caught = 0;
  RpcTryExcept {
    RpcTryFinally { RpcRaiseException(0x1234); }
    RpcFinally { finallyRan = true; }
    RpcEndFinally;
  }
  RpcExcept(1) { caught = RpcExceptionCode(); }
  RpcEndExcept;
  EXPECT_TRUE(finallyRan);
  EXPECT_EQ(caught, 0x1234u);

  EXPECT_EQ(RpcBindingFree(&nowhere), RPC_S_OK);
  EXPECT_EQ(RpcBindingFree(&binding), RPC_S_OK);
  EXPECT_EQ(binding, nullptr);
  EXPECT_EQ(RpcBindingFree(&binding), RPC_S_INVALID_BINDING);
  EXPECT_EQ(RpcMgmtStopServerListening(nullptr), RPC_S_OK);
  listener.join();  // RpcServerListen returned
  EXPECT_EQ(RpcMgmtStopServerListening(nullptr), RPC_S_NOT_LISTENING);
  EXPECT_EQ(RpcMgmtWaitServerListen(), RPC_S_NOT_LISTENING);
  EXPECT_FALSE(std::filesystem::exists(socket));
  std::filesystem::remove_all(dir);
}

// A client that asks for PFC_CONC_MPX may have several calls in flight on one connection, their
// fragments interleaved: the server's workers answer each under its own call ID.
TEST_F(TreeRpcTest, MultiplexedCallsOnOneConnection) {
  using namespace warden::rpc;
  auto s = connectTcp("127.0.0.1", port_, 5s);
  ASSERT_TRUE(s.ok());
  Socket& socket = s.value();
  Bind b;
  b.contexts.push_back({0, warden::stub::spec(tree_v1_0_c_ifspec).id, {warden::stub::kNdr20}});
  std::vector<std::byte> out;
  writeBind(out, PType::kBind, 1, b, kConcMpx);
  ASSERT_TRUE(socket.writeAll(out).ok());
  auto readPdu = [&](std::vector<std::byte>& pdu) {
    pdu.resize(kHeaderSize);
    EXPECT_TRUE(socket.readExactly(pdu, 5s).ok());
    auto h = parseHeader(pdu);
    EXPECT_TRUE(h.ok());
    pdu.resize(h.value().fragLength);
    EXPECT_TRUE(socket.readExactly(std::span(pdu).subspan(kHeaderSize), 5s).ok());
    return h.value();
  };
  std::vector<std::byte> pdu;
  Header ack = readPdu(pdu);
  EXPECT_EQ(ack.type, static_cast<std::uint8_t>(PType::kBindAck));
  EXPECT_TRUE(ack.flags & kConcMpx);  // the server multiplexes
  // Sum of a one-node tree valued v: sNumber, padding, two null pointers.
  auto tree = [](short v) {
    std::vector<std::byte> stub(12);
    stub[0] = static_cast<std::byte>(v & 0xff);
    stub[1] = static_cast<std::byte>(v >> 8);
    return stub;
  };
  out.clear();
  const auto first = tree(1000);
  Request q;
  q.opnum = 0;
  q.stub = std::span(first).first(8);
  writeRequest(out, kFirstFrag, 100, q);  // call 100 begins...
  std::vector<std::vector<std::byte>> stubs;
  for (short i = 0; i < 8; ++i) stubs.push_back(tree(static_cast<short>(10 + i)));
  for (std::uint32_t i = 0; i < 8; ++i) {  // ...calls 101-108 go out whole...
    q.stub = stubs[i];
    writeRequest(out, kFirstFrag | kLastFrag, 101 + i, q);
  }
  q.stub = std::span(first).subspan(8);
  writeRequest(out, kLastFrag, 100, q);  // ...and call 100 ends
  ASSERT_TRUE(socket.writeAll(out).ok());
  std::map<std::uint32_t, std::int32_t> results;
  for (int i = 0; i < 9; ++i) {
    Header h = readPdu(pdu);
    ASSERT_EQ(h.type, static_cast<std::uint8_t>(PType::kResponse)) << h.callId;
    auto r = parseResponse(pdu, h);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r.value().stub.size(), 4u);
    std::int32_t v = 0;
    std::memcpy(&v, r.value().stub.data(), 4);
    results[h.callId] = v;
  }
  std::map<std::uint32_t, std::int32_t> expected = {{100, 1000}};
  for (std::uint32_t i = 0; i < 8; ++i) expected[101 + i] = static_cast<std::int32_t>(10 + i);
  EXPECT_EQ(results, expected);
  EXPECT_EQ(server_.stats().faults, 0u);
}

// tshark dissects a session recorded on loopback: every PDU decodes as DCE/RPC with the types,
// call IDs and opnums sent, a fragmented request is reassembled, and nothing is malformed.
TEST_F(TreeRpcTest, TsharkDissectsARecordedSession) {
  if (!warden::testing::haveTool("tcpdump") || !warden::testing::haveTool("tshark") ||
      ::geteuid() != 0) {
    GTEST_SKIP() << "recording needs root, tcpdump and tshark";
  }
  const std::string dir = warden::testing::makeTempDir("warden-rpc-capture");
  const std::string file = dir + "/session.pcap";
  auto started = warden::testing::run(
      fmt::format("tcpdump -i lo -U --immediate-mode -Z root -w {0} 'tcp port {1}' "
                  ">{2}/tcpdump.log 2>&1 & echo $!",
                  warden::testing::shellQuote(file), port_, warden::testing::shellQuote(dir)));
  ASSERT_TRUE(started.ok());
  const std::string pid = started->out.substr(0, started->out.find('\n'));
  ASSERT_TRUE(eventually([&] {
    auto log = warden::testing::run("cat " + warden::testing::shellQuote(dir + "/tcpdump.log"));
    return log.ok() && log->out.find("listening on") != std::string::npos;
  }));
  TREE n[3];
  leaf(&n[0], 1)->pLeft = leaf(&n[1], 2);
  n[0].pRight = leaf(&n[2], 3);
  EXPECT_EQ(Sum(client_->handle(), &n[0]), 6);  // call 2, opnum 0
  std::vector<unsigned char> data(20'000, 1);
  EXPECT_EQ(Checksum(client_->handle(), 20'000, data.data()), 20'000);  // call 3: 4 fragments
  EXPECT_EQ(Fail(client_->handle(), 0x1234), 0x1234u);                  // call 4: a fault
  client_->disconnect();
  std::this_thread::sleep_for(300ms);
  (void)warden::testing::run("kill -INT " + pid + "; while kill -0 " + pid +
                             " 2>/dev/null; do sleep 0.05; done");
  auto pdus = warden::testing::run(fmt::format(
      "tshark -r {} -d tcp.port=={},dcerpc -o tcp.desegment_tcp_streams:TRUE -Y dcerpc -T fields "
      "-e dcerpc.pkt_type -e dcerpc.cn_call_id -e dcerpc.opnum -e dcerpc.cn_flags",
      warden::testing::shellQuote(file), port_));
  ASSERT_TRUE(pdus.ok());
  // One row per PDU (a frame holding several PDUs lists their fields with commas).
  std::vector<std::string> rows;
  for (const std::string& line : warden::testing::splitList(pdus->out, '\n')) {
    if (line.empty()) continue;
    std::vector<std::vector<std::string>> columns;
    for (const std::string& field : warden::testing::splitList(line, '\t')) {
      columns.push_back(warden::testing::splitList(field, ','));
    }
    for (std::size_t k = 0; k < columns[0].size(); ++k) {
      std::string row;
      for (std::size_t c = 0; c < columns.size(); ++c) {
        row += (c ? "\t" : "") + (k < columns[c].size() ? columns[c][k] : std::string());
      }
      rows.push_back(row);
    }
  }
  // bind, bind_ack; Sum and its response (tshark names the response's opnum from its request);
  // Checksum's four fragments (FIRST, none, none, LAST) and reply; Fail's fault.
  const std::vector<std::string> expected = {"11\t1\t\t0x03",  "12\t1\t\t0x03",  "0\t2\t0\t0x03",
                                             "2\t2\t0\t0x03",  "0\t3\t20\t0x01", "0\t3\t20\t0x00",
                                             "0\t3\t20\t0x00", "0\t3\t20\t0x02", "2\t3\t20\t0x03",
                                             "0\t4\t13\t0x03", "3\t4\t13\t0x03"};
  EXPECT_EQ(rows, expected) << pdus->out << " in " << file;
  auto malformed = warden::testing::run(
      fmt::format("tshark -r {} -d tcp.port=={},dcerpc -Y '_ws.malformed || _ws.expert.severity "
                  ">= \"warning\"' -T fields -e frame.number -e _ws.expert.message",
                  warden::testing::shellQuote(file), port_));
  ASSERT_TRUE(malformed.ok());
  EXPECT_EQ(malformed->out, "");
  if (!HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
