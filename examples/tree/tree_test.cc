// The MIDL memory model, node by node, through stubs `warden idl` generated from tree.idl: the
// client's memory after each call, the blocks each side allocated (the application's
// midl_user_allocate counts into one custody heap; the server stub's blocks into its call
// scope), and no server block alive after a call unless the ACF said dont_free.
#include "tree.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdlib>
#include <functional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "arena.h"
#include "custody/heap.h"
#include "testsupport/oracle.h"
#include "warden/stub.h"

namespace {

warden::custody::Heap& userHeap() {
  // Thread-safe: over the RPC runtime the managers allocate on server threads.
  static warden::custody::Heap heap({.name = "midl_user", .threadSafe = true});
  return heap;
}

std::size_t userBlocks() { return userHeap().stats().liveBlocks; }

}  // namespace

// The application's allocator pair (MIDL's contract: the program defines them).
extern "C" void* midl_user_allocate(size_t bytes) { return userHeap().alloc(bytes); }
extern "C" void midl_user_free(void* block) { (void)userHeap().free(block); }

// The manager routines.
namespace {

int32_t sumOf(const TREE* t) {
  int32_t s = 0;
  std::vector<const TREE*> stack{t};
  while (!stack.empty()) {
    const TREE* n = stack.back();
    stack.pop_back();
    if (n == nullptr) continue;
    s += n->sNumber;
    stack.push_back(n->pLeft);
    stack.push_back(n->pRight);
  }
  return s;
}

TREE* node(short number, void* (*allocate)(size_t) = midl_user_allocate) {
  auto* n = static_cast<TREE*>(allocate(sizeof(TREE)));
  *n = TREE{number, nullptr, nullptr};
  return n;
}

// A complete tree of `depth` levels numbered in preorder from *next.
TREE* complete(short depth, short& next) {
  if (depth <= 0) return nullptr;
  TREE* n = node(next++);
  n->pLeft = complete(static_cast<short>(depth - 1), next);
  n->pRight = complete(static_cast<short>(depth - 1), next);
  return n;
}

void freeTree(TREE* t) {
  if (t == nullptr) return;
  freeTree(t->pLeft);
  freeTree(t->pRight);
  midl_user_free(t);
}

PTREE kept = nullptr;  // what Keep's manager holds on to

}  // namespace

extern "C" {

int32_t m_Sum(handle_t, PTREE root) { return sumOf(root); }

void m_Change(handle_t, PTREE root) {
  // Drops the right subtree: the stub frees the server's copy; the client's is orphaned.
  root->pRight = nullptr;
  // Doubles the numbers down the left spine and gives its last node a new left child.
  for (TREE* n = root; n != nullptr; n = n->pLeft) {
    n->sNumber = static_cast<short>(n->sNumber * 2);
    if (n->pLeft == nullptr) {
      n->pLeft = node(static_cast<short>(-n->sNumber));  // the manager's memory
      break;
    }
  }
}

void m_Build(handle_t, short depth, PTREE* result) {
  short next = 1;
  *result = complete(depth, next);
}

void m_BuildAll(handle_t h, short depth, PTREE_ALL* result) { m_Build(h, depth, result); }

int32_t m_SumAll(handle_t, PTREE_ALL root) { return sumOf(root); }

int32_t m_Keep(handle_t, PTREE_KEEP root) {
  kept = root;
  return sumOf(root);
}

int32_t m_Visit(handle_t, GNODE* g) {
  std::set<GNODE*> seen;
  std::vector<GNODE*> stack{g};
  while (!stack.empty()) {
    GNODE* n = stack.back();
    stack.pop_back();
    if (n == nullptr || !seen.insert(n).second) continue;
    n->id += 100;
    stack.push_back(n->a);
    stack.push_back(n->b);
  }
  return static_cast<int32_t>(seen.size());
}

void m_BuildInto(handle_t h, uint32_t, short depth, TREE* result) {
  PTREE t = nullptr;
  m_Build(h, depth, &t);
  *result = *t;  // the root's fields go into the stub's first level; the node itself is ours
  midl_user_free(t);
}

void m_Twice(handle_t, TAGGED* t) {
  switch (t->kind) {
    case 1:
      t->v.l *= 2;
      break;
    case 2:
      t->v.h *= 2;
      break;
    case 3:
      for (char16_t* c = t->v.s; *c; ++c) {
        if (*c >= u'a' && *c <= u'z') *c = static_cast<char16_t>(*c - u'a' + u'A');
      }
      break;
    default:
      break;
  }
}

int32_t m_Area(handle_t, SHAPE* s) {
  if (s->kind == 1) return s->u.side * s->u.side * 100;
  return static_cast<int32_t>(s->u.radius * s->u.radius * 314.159265);
}

// COUNTS ends in MIDL's v[1]: its elements are reached through a pointer, as C programs do.
int32_t m_SumCounts(handle_t, COUNTS* c) {
  int32_t sum = 0;
  const uint16_t* v = c->v;
  for (uint32_t i = 0; i < c->n; ++i) sum += v[i];
  return sum;
}

int32_t m_Divide(handle_t, int32_t a, int32_t b, error_status_t* status) {
  if (b == 0)
    throw warden::ndr::Fault(0x1C000001, "division by zero");  // nca_s_fault_int_div_by_zero
  *status = 0;
  return a / b;
}

void m_Bump(handle_t, COUNTS* c) {
  uint16_t* v = c->v;
  for (uint32_t i = 0; i < c->n; ++i) ++v[i];
}

void m_MakeCounts(handle_t, uint32_t n, COUNTS** c) {
  *c = static_cast<COUNTS*>(midl_user_allocate(offsetof(COUNTS, v) + sizeof(uint16_t) * (n + 1)));
  (*c)->n = n;
  uint16_t* v = (*c)->v;
  for (uint32_t i = 0; i < n; ++i) v[i] = static_cast<uint16_t>(i * 10);
}

void m_MakeList(handle_t, int32_t n, boolean threaded, LINK** list) {
  auto build = [n, list] {
    LINK* head = nullptr;
    for (int32_t i = n; i >= 1; --i) {
      auto* link = static_cast<LINK*>(RpcSsAllocate(sizeof(LINK)));
      *link = LINK{i, head};
      head = link;
    }
    *list = head;
  };
  if (!threaded) return build();
  RPC_SS_THREAD_HANDLE environment = RpcSsGetThreadHandle();
  std::thread worker([&] {
    RpcSsSetThreadHandle(environment);  // the worker allocates in the call's environment
    build();
    RpcSsSetThreadHandle(nullptr);
  });
  worker.join();
}

error_status_t m_Fail(handle_t, uint32_t code) {
  throw warden::ndr::Fault(code, "the manager gives up");
}

error_status_t m_Reach(handle_t) { return 0; }

int32_t m_CountChars(handle_t, uint32_t n, char16_t** names) {
  int32_t count = 0;
  for (uint32_t i = 0; i < n; ++i) {
    for (const char16_t* c = names[i]; c != nullptr && *c != 0; ++c) ++count;
  }
  return count;
}

void m_Names(handle_t, uint32_t n, char16_t** names) {
  for (uint32_t i = 0; i < n; ++i) {
    if (i % 2 == 1) continue;  // every other one stays null
    auto* name = static_cast<char16_t*>(midl_user_allocate(3 * sizeof(char16_t)));
    name[0] = u'n';
    name[1] = static_cast<char16_t>(u'0' + i);
    name[2] = 0;
    names[i] = name;
  }
}

int rundowns = 0;

void m_Open(handle_t, int32_t start, COUNTER* counter) { *counter = new int32_t(start); }

int32_t m_Next(COUNTER counter) { return ++*static_cast<int32_t*>(counter); }

void m_Close(COUNTER* counter) {
  delete static_cast<int32_t*>(*counter);
  *counter = nullptr;
}

void COUNTER_rundown(COUNTER counter) {
  ++rundowns;
  delete static_cast<int32_t*>(counter);
}

int32_t m_Checksum(handle_t, uint32_t n, unsigned char* data) {
  int32_t sum = 0;
  for (uint32_t i = 0; i < n; ++i) sum += data[i];
  return sum;
}

int32_t m_ChecksumCopy(handle_t h, uint32_t n, unsigned char* data) {
  return m_Checksum(h, n, data);
}

int32_t m_Blobs(handle_t, uint32_t n, PBLOB* items, PBLOB* result) {
  std::set<const BLOB*> distinct;
  int32_t bytes = 0;
  PBLOB fresh = nullptr;
  for (uint32_t i = 0; i < n; ++i) {
    if (items[i] != nullptr && distinct.insert(items[i]).second) {
      bytes += static_cast<int32_t>(items[i]->cb);
    }
    PBLOB back = items[n - 1 - i];
    if (back == nullptr) {
      if (fresh == nullptr) {
        fresh = static_cast<PBLOB>(midl_user_allocate(sizeof(BLOB) + 3));
        fresh->cb = 3;
        fresh->data[0] = 7;
        fresh->data[1] = 8;
        fresh->data[2] = 9;
      }
      back = fresh;
    }
    result[i] = back;
  }
  return bytes;
}

int32_t m_Grid(handle_t, int16_t fixed[2][3], uint32_t n, int32_t m[][2], GRID* g,
               int16_t transposed[3][2]) {
  int32_t sum = 0;
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      sum += fixed[i][j];
      transposed[j][i] = fixed[i][j];
    }
  }
  for (uint32_t i = 0; i < n; ++i) sum += m[i][0] + m[i][1];
  for (uint32_t i = 0; i < g->rows; ++i) sum += g->cells[i][0] + g->cells[i][1] + g->cells[i][2];
  return sum;
}

}  // extern "C"

namespace {

std::string hex(const std::vector<std::uint8_t>& bytes) {
  std::string out;
  for (std::uint8_t b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

// impacket_check.py's encoding of what it decoded from `args`, or "" when impacket is missing
// (any other failure fails the test).
std::string impacket(const std::string& args) {
  auto checked = warden::testing::run(
      fmt::format("/usr/bin/python3 {} {}",
                  warden::testing::shellQuote(std::string(TREE_EXAMPLE_DIR) + "/impacket_check.py"),
                  args),
      warden::testing::Stderr::kMerge);
  EXPECT_TRUE(checked.ok()) << checked.status().message();
  if (!checked.ok() || checked->out.find("No module named 'impacket'") != std::string::npos) {
    return "";
  }
  EXPECT_EQ(checked->exitCode, 0) << checked->out;
  return checked->out.substr(0, checked->out.find('\n'));
}

class TreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.registerInterface(tree_v1_0_s_ifspec);
    h_ = server_.bind();
    before_ = userBlocks();
  }
  // Every block the application's allocator handed out during a test is back.
  void TearDown() override { EXPECT_EQ(userBlocks(), before_); }

  warden::stub::InProcessServer server_;
  handle_t h_ = nullptr;
  std::size_t before_ = 0;
};

// The client's tree on its stack: no allocator involved.
struct LocalTree {
  TREE n[5];
  // n0(1) -> n1(2), n2(3); n1 -> n3(4); n2 -> n4(5)
  LocalTree() {
    for (short i = 0; i < 5; ++i) n[i] = TREE{static_cast<short>(i + 1), nullptr, nullptr};
    n[0].pLeft = &n[1];
    n[0].pRight = &n[2];
    n[1].pLeft = &n[3];
    n[2].pLeft = &n[4];
  }
};

TEST_F(TreeTest, SumSendsTheWholeTreeAndFreesEveryServerBlock) {
  LocalTree t;
  EXPECT_EQ(Sum(h_, &t.n[0]), 15);
  warden::stub::ServerCallStats s = server_.lastCall();
  EXPECT_EQ(s.stubAllocations, 5u);  // single_node: one block per node, in the call's scope
  EXPECT_EQ(s.managerBlocksFreed, 0u);
  EXPECT_EQ(t.n[0].sNumber, 1);  // [in] data is only read
}

TEST_F(TreeTest, InOutTreeIsOverwrittenInPlaceGrownAndPruned) {
  LocalTree t;
  Change(h_, &t.n[0]);
  // Changed in place: the same client nodes hold the doubled numbers (the left spine).
  EXPECT_EQ(t.n[0].sNumber, 2);
  EXPECT_EQ(t.n[0].pLeft, &t.n[1]);
  EXPECT_EQ(t.n[1].sNumber, 4);
  EXPECT_EQ(t.n[1].pLeft, &t.n[3]);
  EXPECT_EQ(t.n[3].sNumber, 8);
  // Grown: n3 had no left child; the new node came from the client's midl_user_allocate.
  ASSERT_NE(t.n[3].pLeft, nullptr);
  EXPECT_EQ(t.n[3].pLeft->sNumber, -8);
  EXPECT_EQ(t.n[3].pLeft->pLeft, nullptr);
  EXPECT_TRUE(userHeap().owns(t.n[3].pLeft));
  // Pruned: the root's right subtree is gone from the tree and reported orphaned.
  EXPECT_EQ(t.n[0].pRight, nullptr);
  const auto& orphaned = warden::stub::lastCallEffects().orphaned;
  ASSERT_EQ(orphaned.size(), 1u);
  EXPECT_EQ(orphaned[0], &t.n[2]);
  EXPECT_EQ(t.n[2].sNumber, 3);  // the orphan is untouched
  // The server's new node was freed after marshalling; its stub blocks went with the scope.
  EXPECT_EQ(server_.lastCall().managerBlocksFreed, 1u);
  midl_user_free(t.n[3].pLeft);
}

TEST_F(TreeTest, OutTreeIsNewClientMemoryOneBlockPerNode) {
  PTREE result = reinterpret_cast<PTREE>(0x1);  // [out]: what the caller had is not read
  const std::uint64_t allocations = userHeap().stats().totalAllocations;
  Build(h_, 3, &result);
  ASSERT_NE(result, nullptr);
  // Preorder numbering 1..7 arrives intact.
  EXPECT_EQ(result->sNumber, 1);
  EXPECT_EQ(result->pLeft->sNumber, 2);
  EXPECT_EQ(result->pLeft->pLeft->sNumber, 3);
  EXPECT_EQ(result->pLeft->pRight->sNumber, 4);
  EXPECT_EQ(result->pRight->sNumber, 5);
  EXPECT_EQ(result->pRight->pRight->sNumber, 7);
  EXPECT_EQ(sumOf(result), 28);
  // 7 on the server (the manager's, freed after marshalling) and 7 on the client.
  EXPECT_EQ(server_.lastCall().managerBlocksFreed, 7u);
  EXPECT_EQ(userHeap().stats().totalAllocations - allocations, 14u);
  EXPECT_EQ(userBlocks(), before_ + 7);
  freeTree(result);
}

TEST_F(TreeTest, AllNodesOutTreeIsOneClientBlock) {
  PTREE_ALL result = nullptr;
  BuildAll(h_, 4, &result);
  ASSERT_NE(result, nullptr);
  EXPECT_EQ(sumOf(result), 120);         // 1 + ... + 15
  EXPECT_EQ(userBlocks(), before_ + 1);  // all_nodes: the whole tree in one block
  EXPECT_TRUE(userHeap().owns(result));
  midl_user_free(result);  // ... freed with one call
}

TEST_F(TreeTest, AllNodesInTreeIsOneServerBlock) {
  LocalTree t;
  EXPECT_EQ(SumAll(h_, &t.n[0]), 15);
  EXPECT_EQ(server_.lastCall().stubAllocations, 1u);
}

TEST_F(TreeTest, DontFreeLeavesTheServersTreeToTheManager) {
  LocalTree t;
  kept = nullptr;
  EXPECT_EQ(Keep(h_, &t.n[0]), 15);
  ASSERT_NE(kept, nullptr);
  // One block from the application's allocator, alive after the call, readable as the tree.
  EXPECT_EQ(userBlocks(), before_ + 1);
  EXPECT_EQ(server_.lastCall().stubAllocations, 0u);
  EXPECT_EQ(sumOf(kept), 15);
  EXPECT_EQ(kept->pRight->pLeft->sNumber, 5);
  midl_user_free(kept);
  kept = nullptr;
}

TEST_F(TreeTest, FullPointersKeepAliasesAndCyclesAndComeBackIntoTheSameNodes) {
  // x -> y, z; y -> z (alias), x; z -> z (self cycle)
  GNODE x{1, nullptr, nullptr}, y{2, nullptr, nullptr}, z{3, nullptr, nullptr};
  x.a = &y;
  x.b = &z;
  y.a = &z;
  y.b = &x;
  z.a = &z;
  EXPECT_EQ(Visit(h_, &x), 3);  // the server saw three distinct nodes, not an endless walk
  EXPECT_EQ(x.id, 101);
  EXPECT_EQ(y.id, 102);
  EXPECT_EQ(z.id, 103);  // each node once: aliases are one node on the server too
  EXPECT_EQ(x.a, &y);
  EXPECT_EQ(x.b, &z);
  EXPECT_EQ(y.a, &z);
  EXPECT_EQ(y.b, &x);
  EXPECT_EQ(z.a, &z);
  EXPECT_EQ(z.b, nullptr);
  EXPECT_EQ(server_.lastCall().managerBlocksFreed, 0u);
}

TEST_F(TreeTest, ByteCountBuildsIntoTheCallersBuffer) {
  alignas(16) unsigned char buffer[256];
  auto* root = reinterpret_cast<TREE*>(buffer);
  BuildInto(h_, sizeof buffer, 3, root);
  EXPECT_EQ(sumOf(root), 28);
  // Every node lies inside the caller's one buffer; nothing came from the allocator.
  std::vector<const TREE*> stack{root};
  int nodes = 0;
  while (!stack.empty()) {
    const TREE* n = stack.back();
    stack.pop_back();
    if (n == nullptr) continue;
    ++nodes;
    auto* b = reinterpret_cast<const unsigned char*>(n);
    EXPECT_TRUE(b >= buffer && b + sizeof(TREE) <= buffer + sizeof buffer);
    stack.push_back(n->pLeft);
    stack.push_back(n->pRight);
  }
  EXPECT_EQ(nodes, 7);
}

TEST_F(TreeTest, ByteCountTooSmallIsAFault) {
  alignas(16) unsigned char buffer[64];  // room for the root and a few nodes, not seven
  try {
    BuildInto(h_, sizeof buffer, 3, reinterpret_cast<TREE*>(buffer));
    FAIL() << "a reply larger than the byte_count buffer was accepted";
  } catch (const warden::ndr::Fault& f) {
    EXPECT_EQ(f.status(), warden::ndr::kByteCountTooSmall) << f.what();
  }
}

// A three-node tree marshalled by the generated client stub, byte by byte from the NDR rules,
// then read back by another implementation: impacket's NDR classes.
TEST_F(TreeTest, SumRequestBytesFollowNdrAndImpacketReadsThem) {
  TREE left{2, nullptr, nullptr}, right{3, nullptr, nullptr};
  TREE root{1, &left, &right};
  ASSERT_EQ(Sum(h_, &root), 6);
  const std::string expected =
      // root: [ref] top-level, so no referent ID; the struct aligns to 4 (its pointers)
      "0100"      // sNumber = 1
      "0000"      // padding to the pointer
      "00000200"  // pLeft: referent ID 0x00020000 (unique)
      "04000200"  // pRight: referent ID 0x00020004
      // deferred referents, in pointer order, each a whole TREE
      "0200"
      "0000"
      "00000000"
      "00000000"  // *pLeft: sNumber 2, no children
      "0300"
      "0000"
      "00000000"
      "00000000";  // *pRight: sNumber 3, no children
  const std::string ours = hex(server_.lastRequest());
  EXPECT_EQ(ours, expected);

  std::string theirs = impacket(ours);
  if (theirs.empty()) GTEST_SKIP() << "python3-impacket is not installed (setup.sh installs it)";
  // impacket's own encoding of the same tree: the same bytes once its padding (0xaa, 0xbf) and
  // random referent IDs are masked.
  ASSERT_EQ(theirs.size(), expected.size()) << theirs;
  auto mask = [](std::string h) {
    for (std::size_t at : {4u, 28u, 52u}) h.replace(at, 4, "pppp");  // padding
    for (std::size_t at : {8u, 16u}) h.replace(at, 8, "rrrrrrrr");   // referent IDs
    return h;
  };
  EXPECT_EQ(mask(theirs), mask(expected));
  EXPECT_NE(theirs.substr(8, 8), "00000000");  // impacket's referent IDs are not null
}

TEST_F(TreeTest, ServerReadsAPlainArrayInPlaceUnlessForceAllocate) {
  std::vector<unsigned char> data(1000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<unsigned char>(i);
  int32_t expected = 0;
  for (unsigned char c : data) expected += c;
  EXPECT_EQ(Checksum(h_, static_cast<uint32_t>(data.size()), data.data()), expected);
  EXPECT_EQ(server_.lastCall().stubAllocations, 0u);  // aliased: no copy, nothing to free
  EXPECT_EQ(ChecksumCopy(h_, static_cast<uint32_t>(data.size()), data.data()), expected);
  EXPECT_EQ(server_.lastCall().stubAllocations, 1u);  // [force_allocate]: one block
}

// Hostile requests straight into the server: a fault with the status MIDL's stubs raise, nothing
// allocated for counts the bytes cannot back, and the scope takes back what was allocated.
TEST_F(TreeTest, AbsurdSizeIsInASmallRequestAllocatesNothing) {
  std::vector<std::uint8_t> request = {
      0x00, 0x00, 0x00, 0x80,  // n = 2^31
      0x00, 0x00, 0x00, 0x80,  // data: max_count = 2^31
  };
  request.resize(100, 0x41);  // 92 bytes of data
  std::vector<std::uint8_t> reply;
  try {
    server_.call(warden::stub::spec(tree_v1_0_c_ifspec), 20, request, reply);
    FAIL() << "accepted";
  } catch (const warden::ndr::Fault& f) {
    EXPECT_EQ(f.status(), warden::ndr::kBadStubData);
    EXPECT_NE(std::string(f.what()).find("Checksum.data"), std::string::npos) << f.what();
  }
  EXPECT_EQ(server_.lastCall().stubAllocations, 0u);
  EXPECT_EQ(server_.lastCall().stubBytes, 0u);
}

TEST_F(TreeTest, TruncatedTreeIsBadStubDataAndLeavesNothingBehind) {
  LocalTree t;
  ASSERT_EQ(Sum(h_, &t.n[0]), 15);
  std::vector<std::uint8_t> whole = server_.lastRequest();
  for (std::size_t cut = 0; cut < whole.size(); ++cut) {
    std::vector<std::uint8_t> request(whole.begin(), whole.begin() + static_cast<long>(cut));
    std::vector<std::uint8_t> reply;
    try {
      server_.call(warden::stub::spec(tree_v1_0_c_ifspec), 0, request, reply);
      ADD_FAILURE() << "a request cut at " << cut << " of " << whole.size() << " was accepted";
    } catch (const warden::ndr::Fault& f) {
      EXPECT_EQ(f.status(), warden::ndr::kBadStubData) << cut;
    }
  }
  // An opnum the interface does not have.
  std::vector<std::uint8_t> reply;
  try {
    server_.call(warden::stub::spec(tree_v1_0_c_ifspec), 99, whole, reply);
    ADD_FAILURE();
  } catch (const warden::ndr::Fault& f) {
    EXPECT_EQ(f.status(), warden::stub::kNcaOpRangeError);
  }
}

TEST_F(TreeTest, NonEncapsulatedUnionCarriesTheArmItsStructSelects) {
  TAGGED number{1, {}};
  number.v.l = 21;
  Twice(h_, &number);
  EXPECT_EQ(number.kind, 1);
  EXPECT_EQ(number.v.l, 42);
  // kind, then the union: its short discriminant, then the long arm at its own alignment.
  EXPECT_EQ(hex(server_.lastRequest()),
            "0100"        // kind = 1
            "0100"        // the union's discriminant (switch_type short) = 1
            "15000000");  // l = 21

  TAGGED big{2, {}};
  big.v.h = std::int64_t{1} << 40;
  Twice(h_, &big);
  EXPECT_EQ(big.v.h, std::int64_t{1} << 41);
  const std::string request = hex(server_.lastRequest());
  EXPECT_EQ(request,
            "0200"
            "0200"
            "00000000"            // kind, discriminant, padding to the hyper
            "0000000000010000");  // h = 2^40
  // impacket's NDRUNION reads the same bytes and writes them (bar its 0xbf padding).
  if (std::string theirs = impacket("twice " + request); !theirs.empty()) {
    EXPECT_EQ(theirs.substr(0, 8) + "00000000" + theirs.substr(16), request) << theirs;
  }

  char16_t text[] = u"abc";
  TAGGED word{3, {}};
  word.v.s = text;
  Twice(h_, &word);
  EXPECT_EQ(word.v.s, text);  // [in, out]: the caller's string, overwritten in place
  EXPECT_EQ(std::u16string(text), u"ABC");

  TAGGED other{9, {}};  // the [default] arm is empty
  Twice(h_, &other);
  EXPECT_EQ(hex(server_.lastRequest()),
            "0900"
            "0900");
}

TEST_F(TreeTest, EncapsulatedUnionCarriesItsOwnDiscriminant) {
  SHAPE square{};
  square.kind = 1;
  square.u.side = 3;
  EXPECT_EQ(Area(h_, &square), 900);
  EXPECT_EQ(hex(server_.lastRequest()),
            "01000000"
            "0300");  // kind, then the short arm
  SHAPE circle{};
  circle.kind = 2;
  circle.u.radius = 2.0;
  EXPECT_EQ(Area(h_, &circle), 1256);
  // kind, then the double at its own alignment: 4 bytes of padding.
  EXPECT_EQ(hex(server_.lastRequest()),
            "02000000"
            "00000000"
            "0000000000000040");
  SHAPE bad{};
  bad.kind = 7;  // no arm and no [default]
  try {
    Area(h_, &bad);
    FAIL() << "a discriminant without an arm was sent";
  } catch (const warden::ndr::Fault& f) {
    EXPECT_EQ(f.status(), warden::ndr::kInvalidTag) << f.what();
  }
}

// A conformant structure: the struct's final array size is written before the struct.
struct Counts3 {
  COUNTS c;
  uint16_t more[2];  // storage for v[1] and v[2] after COUNTS' v[1]
};

TEST_F(TreeTest, ConformantStructureHoistsItsMaxCount) {
  Counts3 s{};
  s.c.n = 3;
  COUNTS* c = &s.c;
  uint16_t* v = c->v;
  v[0] = 1;
  v[1] = 2;  // spills into `more`, as a C program's over-allocated COUNTS does
  v[2] = 3;
  EXPECT_EQ(SumCounts(h_, c), 6);
  // The example of the NDR notes (rpc-memory-ndr.md 4.3), byte for byte.
  EXPECT_EQ(hex(server_.lastRequest()),
            "03000000"                                // max_count, hoisted before the struct
            "03000000"                                // n
            "010002000300");                          // v[0..2]
  EXPECT_EQ(server_.lastCall().stubAllocations, 1u);  // one block: struct and array together
  // impacket's conformant structure (NDRSTRUCT ending in NDRUniConformantArray) agrees.
  const std::string request = hex(server_.lastRequest());
  if (std::string theirs = impacket("counts " + request); !theirs.empty()) {
    EXPECT_EQ(theirs, request);
  }
}

// A server that answers every call with the same bytes: a hostile peer for the client stub.
class FixedReply final : public warden::stub::Transport {
 public:
  explicit FixedReply(std::vector<std::uint8_t> reply) : reply_(std::move(reply)) {}
  void call(const warden::stub::InterfaceSpec&, std::uint32_t, std::span<const std::uint8_t>,
            std::vector<std::uint8_t>& reply) override {
    reply = reply_;
  }

 private:
  std::vector<std::uint8_t> reply_;
};

TEST_F(TreeTest, InOutConformantStructureIsRefusedWhenTheReplyOutgrowsIt) {
  Counts3 s{};
  s.c.n = 3;
  COUNTS* c = &s.c;
  uint16_t* v = c->v;
  v[0] = 1;
  v[1] = 2;
  v[2] = 3;
  s.more[1] = 0x7777;  // v[3]: past the caller's three elements
  Bump(h_, c);
  EXPECT_EQ(v[0], 2);
  EXPECT_EQ(v[2], 4);
  // A server that answers with eight elements for the caller's three.
  FixedReply liar({0x08, 0, 0, 0, 0x08, 0, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0});
  warden::stub::Binding binding{&liar, {}};
  try {
    Bump(&binding, c);
    FAIL() << "a conformant structure larger than its storage was accepted";
  } catch (const warden::ndr::Fault& f) {
    EXPECT_EQ(f.status(), warden::ndr::kInvalidBound) << f.what();
  }
  EXPECT_EQ(s.more[1], 0x7777);  // nothing written past the caller's storage
  EXPECT_EQ(c->n, 3u);
}

TEST_F(TreeTest, OutConformantStructureIsOneNewBlock) {
  COUNTS* c = nullptr;
  MakeCounts(h_, 4, &c);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->n, 4u);
  const uint16_t* v = c->v;
  EXPECT_EQ(v[3], 30);
  EXPECT_EQ(userBlocks(), before_ + 1);
  EXPECT_GE(userHeap().size(c).value(), offsetof(COUNTS, v) + 4 * sizeof(uint16_t));
  midl_user_free(c);
}

TEST_F(TreeTest, MismatchedDiscriminantIsBadStubData) {
  // Twice's request with kind 1 but a union discriminant of 2.
  std::vector<std::uint8_t> request = {0x01, 0x00, 0x02, 0x00, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
  std::vector<std::uint8_t> reply;
  try {
    server_.call(warden::stub::spec(tree_v1_0_c_ifspec), 8, request, reply);
    FAIL();
  } catch (const warden::ndr::Fault& f) {
    EXPECT_EQ(f.status(), warden::ndr::kBadStubData) << f.what();
    EXPECT_NE(std::string(f.what()).find("_VALUE.(switch)"), std::string::npos) << f.what();
  }
}

// RpcSs: [enable_allocate] gives each server call an environment the manager allocates from,
// released with the call; the client stub allocates from the caller's environment if it has one.
class ArenaTest : public TreeTest {
 protected:
  void SetUp() override {
    TreeTest::SetUp();
    server_.registerInterface(arena_v1_0_s_ifspec);
  }
  static int32_t sum(const LINK* l) {
    int32_t s = 0;
    for (; l != nullptr; l = l->next) s += l->value;
    return s;
  }
};

TEST_F(ArenaTest, ManagerMemoryGoesWithTheCallAndTheClientUsesMidlUserAllocate) {
  for (boolean threaded : {boolean{0}, boolean{1}}) {
    LINK* list = nullptr;
    MakeList(h_, 5, threaded, &list);
    EXPECT_EQ(sum(list), 15) << int{threaded};
    // The manager's five links were RpcSs memory, released with the call, never midl_user_free'd.
    EXPECT_EQ(server_.lastCall().managerBlocksFreed, 0u);
    EXPECT_EQ(userBlocks(), before_ + 5);  // the client's copy, from midl_user_allocate
    while (list != nullptr) {
      LINK* next = list->next;
      midl_user_free(list);
      list = next;
    }
  }
}

TEST_F(ArenaTest, ClientEnvironmentTakesTheReplyAndReleasesItAtOnce) {
  RpcSsEnableAllocate();
  LINK* list = nullptr;
  MakeList(h_, 4, 0, &list);
  EXPECT_EQ(sum(list), 10);
  EXPECT_EQ(userBlocks(), before_);  // nothing from midl_user_allocate
  RPC_STATUS status = -1;
  void* extra = RpcSmAllocate(64, &status);
  EXPECT_EQ(status, 0);
  EXPECT_NE(extra, nullptr);
  RpcSsDisableAllocate();  // the four links and the extra block, in one release
  EXPECT_EQ(RpcSmAllocate(8, &status), nullptr);  // no environment any more
  EXPECT_NE(status, 0);
  EXPECT_THROW(RpcSsAllocate(8), warden::ndr::Fault);
}

std::size_t counted = 0;
void* countingAllocate(size_t n) {
  ++counted;
  return std::malloc(n);
}
void countingFree(void* p) { std::free(p); }

TEST_F(ArenaTest, SetClientAllocFreeReplacesTheClientStubsPair) {
  void* (*oldAllocate)(size_t) = nullptr;
  void (*oldFree)(void*) = nullptr;
  counted = 0;
  RpcSsSwapClientAllocFree(countingAllocate, countingFree, &oldAllocate, &oldFree);
  LINK* list = nullptr;
  MakeList(h_, 3, 0, &list);
  EXPECT_EQ(sum(list), 6);
  EXPECT_EQ(counted, 3u);
  EXPECT_EQ(userBlocks(), before_);
  RpcSsSetClientAllocFree(oldAllocate, oldFree);  // back to none
  while (list != nullptr) {
    LINK* next = list->next;
    countingFree(list);
    list = next;
  }
}

TEST_F(TreeTest, StatusParameterTakesBothKindsOfFailure) {
  error_status_t status = 0xFFFFFFFF;
  EXPECT_EQ(Divide(h_, 7, 2, &status), 3);
  EXPECT_EQ(status, 0u);  // the server's [out] value
  EXPECT_EQ(Divide(h_, 1, 0, &status), 0);
  EXPECT_EQ(status, 0x1C000001u);  // its fault
  warden::stub::Binding nowhere;
  status = 0;
  EXPECT_EQ(Divide(&nowhere, 1, 1, &status), 0);
  EXPECT_EQ(status, 0x6A6u);  // the transport's failure
}

TEST_F(TreeTest, FaultAndCommStatusReturnTheirOwnFailuresOnly) {
  EXPECT_EQ(Fail(h_, 0x1234), 0x1234u);  // [fault_status]: the server's fault status
  EXPECT_EQ(Reach(h_), 0u);
  warden::stub::Binding nowhere;       // no transport: a communication failure
  EXPECT_EQ(Reach(&nowhere), 0x6A6u);  // [comm_status]: RPC_S_INVALID_BINDING returned
  try {
    Fail(&nowhere, 1);  // [fault_status] alone does not cover communication
    FAIL();
  } catch (const warden::ndr::Fault& f) {
    EXPECT_EQ(f.origin(), warden::ndr::Fault::Origin::kCommunication);
  }
}

TEST_F(TreeTest, ArrayOfStringPointersSendsEveryReferentAfterTheArray) {
  char16_t ab[] = u"ab";
  char16_t cde[] = u"cde";
  char16_t* names[] = {ab, nullptr, cde};
  EXPECT_EQ(CountChars(h_, 3, names), 5);
  EXPECT_EQ(hex(server_.lastRequest()),
            "03000000"  // n
            "03000000"  // names: max_count
            "00000200"
            "00000000"
            "04000200"  // three referent IDs, one null
            "03000000"
            "00000000"
            "03000000"
            "610062000000"  // "ab"
            "0000"          // padding to 4
            "04000000"
            "00000000"
            "04000000"
            "6300640065000000");  // "cde"
  // impacket's NDRUniConformantArray of LPWSTR reads the same bytes.
  if (std::string verdict = impacket("names " + hex(server_.lastRequest())); !verdict.empty()) {
    EXPECT_EQ(verdict, "ok");
  }
}

TEST_F(TreeTest, OutArrayOfStringPointersComesBackInNewClientMemory) {
  char16_t* names[4];
  for (char16_t*& n : names) n = reinterpret_cast<char16_t*>(0x1);  // [out]: not read
  Names(h_, 4, names);
  ASSERT_NE(names[0], nullptr);
  EXPECT_EQ(std::u16string(names[0]), u"n0");
  EXPECT_EQ(names[1], nullptr);
  EXPECT_EQ(std::u16string(names[2]), u"n2");
  EXPECT_EQ(names[3], nullptr);
  EXPECT_EQ(server_.lastCall().managerBlocksFreed, 2u);
  EXPECT_EQ(userBlocks(), before_ + 2);
  midl_user_free(names[0]);
  midl_user_free(names[2]);
}

TEST_F(TreeTest, ContextHandleKeepsServerStateBetweenCallsAndRunsDown) {
  COUNTER counter = nullptr;
  Open(h_, 10, &counter);
  ASSERT_NE(counter, nullptr);
  EXPECT_EQ(server_.contexts().size(), 1u);
  EXPECT_EQ(Next(counter), 11);  // binds through the handle: no handle_t parameter
  EXPECT_EQ(Next(counter), 12);
  // The request carries the 20-byte handle: attributes 0, then the server's UUID.
  const std::string request = hex(server_.lastRequest());
  ASSERT_EQ(request.size(), 40u);
  EXPECT_EQ(request.substr(0, 8), "00000000");
  EXPECT_NE(request.substr(8), std::string(32, '0'));
  Close(&counter);
  EXPECT_EQ(counter, nullptr);  // the server closed it: the client's handle is gone too
  EXPECT_EQ(server_.contexts().size(), 0u);
  EXPECT_THROW(Next(counter), warden::ndr::Fault);  // a null [in] handle cannot bind

  // A handle the server never gave out.
  warden::stub::ClientContext forged;
  forged.uuid[0] = 0x42;
  forged.binding = h_;
  try {
    Next(&forged);
    FAIL();
  } catch (const warden::ndr::Fault& f) {
    EXPECT_EQ(f.status(), warden::stub::kSsContextMismatch) << f.what();
  }

  // The client goes away with two open: rundown frees both.
  COUNTER a = nullptr, b = nullptr;
  Open(h_, 1, &a);
  Open(h_, 2, &b);
  rundowns = 0;
  server_.contexts().runDown();
  EXPECT_EQ(rundowns, 2);
  EXPECT_EQ(server_.contexts().size(), 0u);
  delete static_cast<warden::stub::ClientContext*>(a);  // the client's side of the dead handles
  delete static_cast<warden::stub::ClientContext*>(b);
}

TEST_F(TreeTest, NullRefPointerIsRefusedBeforeSending) {
  try {
    Sum(h_, nullptr);
    FAIL();
  } catch (const warden::ndr::Fault& f) {
    EXPECT_EQ(f.status(), warden::ndr::kNullRefPointer);
  }
}

TEST_F(TreeTest, DeepListDoesNotRecurse) {
  // A million nodes in a left-leaning list: the stubs and the engine keep their own stacks.
  constexpr int kNodes = 1'000'000;
  std::vector<TREE> list(kNodes);
  for (int i = 0; i < kNodes; ++i) {
    list[i] = TREE{1, i + 1 < kNodes ? &list[i + 1] : nullptr, nullptr};
  }
  EXPECT_EQ(Sum(h_, &list[0]), kNodes);
  EXPECT_EQ(server_.lastCall().stubAllocations, static_cast<std::uint64_t>(kNodes));
}

TEST_F(TreeTest, FullPointersToConformantStructuresTravelOnceAndComeBackIntoTheCallersNodes) {
  alignas(BLOB) unsigned char aMemory[sizeof(BLOB) + 2];
  alignas(BLOB) unsigned char bMemory[sizeof(BLOB) + 3];
  auto* a = reinterpret_cast<BLOB*>(aMemory);
  auto* b = reinterpret_cast<BLOB*>(bMemory);
  a->cb = 2;
  a->data[0] = 1;
  a->data[1] = 2;
  b->cb = 3;
  b->data[0] = 3;
  b->data[1] = 4;
  b->data[2] = 5;
  PBLOB items[5] = {a, b, a, nullptr, nullptr};
  PBLOB result[5] = {};
  // The server saw a once: 2 + 3 bytes.
  EXPECT_EQ(Blobs(h_, 5, items, result), 5);
  EXPECT_EQ(hex(server_.lastRequest()),
            "05000000"  // n
            "05000000"  // items: max_count
            "01000000020000000100000000000000"
            "00000000"  // IDs: a, b, a again, null, null
            "02000000"
            "02000000"
            "0102"
            "0000"  // a: max_count, cb, data, padding
            "03000000"
            "03000000"
            "030405");  // b
  // The caller's nodes came back as themselves; the new node once, for both null slots.
  EXPECT_EQ(result[2], a);
  EXPECT_EQ(result[3], b);
  EXPECT_EQ(result[4], a);
  ASSERT_NE(result[0], nullptr);
  EXPECT_EQ(result[1], result[0]);
  EXPECT_EQ(result[0]->cb, 3u);
  EXPECT_EQ(result[0]->data[0], 7);
  EXPECT_EQ(result[0]->data[2], 9);
  EXPECT_EQ(a->cb, 2u);
  EXPECT_EQ(b->data[2], 5);
  EXPECT_EQ(server_.lastCall().managerBlocksFreed, 1u);
  midl_user_free(result[0]);
}

TEST_F(TreeTest, MultiDimensionalArraysTravelRowAfterRow) {
  int16_t fixed[2][3] = {{1, 2, 3}, {4, 5, 6}};
  int32_t m[2][2] = {{10, 20}, {30, 40}};
  // A conformant structure ending in rows of 3: room for 2.
  alignas(GRID) unsigned char memory[sizeof(GRID) + sizeof(int16_t[3])];
  auto* g = reinterpret_cast<GRID*>(memory);
  g->rows = 2;
  int16_t(*cells)[3] = g->cells;  // the header declares one row, as MIDL's does
  for (int j = 0; j < 3; ++j) {
    cells[0][j] = 1;
    cells[1][j] = 2;
  }
  int16_t transposed[3][2] = {};
  EXPECT_EQ(Grid(h_, fixed, 2, m, g, transposed), 21 + 100 + 9);
  EXPECT_EQ(hex(server_.lastRequest()),
            "010002000300"
            "040005000600"  // fixed[2][3]: no counts
            "02000000"      // n
            "02000000"
            "0a000000140000001e00000028000000"  // m[][2]: one max_count, 2 rows
            "02000000"
            "02000000"  // g: hoisted max_count, rows
            "010001000100"
            "020002000200");  // cells
  // impacket reads the same values from these bytes and encodes them the same way.
  const std::string request = hex(server_.lastRequest());
  if (std::string theirs = impacket("grid " + request); !theirs.empty()) {
    EXPECT_EQ(theirs, request);
  }
  const int16_t expected[3][2] = {{1, 4}, {2, 5}, {3, 6}};
  for (int j = 0; j < 3; ++j) {
    EXPECT_EQ(transposed[j][0], expected[j][0]) << j;
    EXPECT_EQ(transposed[j][1], expected[j][1]) << j;
  }
}

}  // namespace
