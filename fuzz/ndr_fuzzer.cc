// Fuzzes generated NDR unmarshalling: the first byte picks an operation of examples/tree/tree.idl,
// the rest is its request stub data, dispatched to the generated server stub with a 16 MiB
// allocation limit. Every input must end in a reply or a fault; nothing may crash, leak or grow
// without bound. The managers answer cheaply (trees they build are capped at 8 levels).
#include <cstdint>
#include <cstdlib>
#include <set>
#include <vector>

#include "tree.h"
#include "warden/stub.h"

namespace {

PTREE complete(int depth, short& next) {
  if (depth <= 0) return nullptr;
  auto* n = static_cast<TREE*>(midl_user_allocate(sizeof(TREE)));
  n->sNumber = next++;
  n->pLeft = complete(depth - 1, next);
  n->pRight = complete(depth - 1, next);
  return n;
}

int32_t walk(const TREE* t) {
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

PTREE kept = nullptr;

}  // namespace

extern "C" {
int32_t m_Sum(handle_t, PTREE root) { return walk(root); }
void m_Change(handle_t, PTREE root) {
  root->pRight = nullptr;
  if (root->pLeft == nullptr) {
    short next = 0;
    root->pLeft = complete(1, next);
  }
}
void m_Build(handle_t, short depth, PTREE* result) {
  short next = 0;
  *result = complete(depth < 0 ? 0 : depth > 8 ? 8 : depth, next);
}
void m_BuildAll(handle_t h, short depth, PTREE_ALL* result) { m_Build(h, depth, result); }
int32_t m_SumAll(handle_t, PTREE_ALL root) { return walk(root); }
int32_t m_Keep(handle_t, PTREE_KEEP root) {
  midl_user_free(kept);  // all_nodes: one block
  kept = root;
  return walk(root);
}
int32_t m_Visit(handle_t, GNODE* g) {
  std::set<GNODE*> seen;
  std::vector<GNODE*> stack{g};
  while (!stack.empty()) {
    GNODE* n = stack.back();
    stack.pop_back();
    if (n == nullptr || !seen.insert(n).second) continue;
    stack.push_back(n->a);
    stack.push_back(n->b);
  }
  return static_cast<int32_t>(seen.size());
}
void m_BuildInto(handle_t h, uint32_t, short depth, TREE* result) {
  PTREE t = nullptr;
  m_Build(h, depth, &t);
  if (t != nullptr) {
    *result = *t;
    midl_user_free(t);
  }
}
void m_Twice(handle_t, TAGGED* t) {
  if (t->kind == 1) t->v.l = static_cast<int32_t>(static_cast<uint32_t>(t->v.l) * 2);
}
int32_t m_Area(handle_t, SHAPE* s) { return s->kind == 1 ? s->u.side : 0; }
int32_t m_SumCounts(handle_t, COUNTS* c) { return c->n > 0 ? c->v[0] : 0; }
void m_Bump(handle_t, COUNTS* c) {
  if (c->n > 0) ++c->v[0];
}
void m_MakeCounts(handle_t, uint32_t n, COUNTS** c) {
  n %= 64;
  *c = static_cast<COUNTS*>(midl_user_allocate(sizeof(COUNTS) + sizeof(uint16_t) * n));
  (*c)->n = n;
  uint16_t* v = (*c)->v;
  for (uint32_t i = 0; i < n; ++i) v[i] = static_cast<uint16_t>(i);
}
error_status_t m_Fail(handle_t, uint32_t code) { return code; }
error_status_t m_Reach(handle_t) { return 0; }
int32_t m_CountChars(handle_t, uint32_t n, char16_t** names) {
  int32_t count = 0;
  for (uint32_t i = 0; i < n; ++i) {
    for (const char16_t* c = names[i]; c != nullptr && *c != 0; ++c) ++count;
  }
  return count;
}
void m_Names(handle_t, uint32_t n, char16_t** names) {
  if (n > 0) {
    names[0] = static_cast<char16_t*>(midl_user_allocate(2 * sizeof(char16_t)));
    names[0][0] = u'x';
    names[0][1] = 0;
  }
}
int32_t counterValue = 0;
void m_Open(handle_t, int32_t start, COUNTER* counter) {
  counterValue = start;
  *counter = &counterValue;
}
int32_t m_Next(COUNTER counter) { return ++*static_cast<int32_t*>(counter); }
void m_Close(COUNTER* counter) { *counter = nullptr; }
void COUNTER_rundown(COUNTER) {}
int32_t m_Checksum(handle_t, uint32_t n, unsigned char* data) {
  int32_t s = 0;
  for (uint32_t i = 0; i < n; ++i) s += data[i];
  return s;
}
int32_t m_ChecksumCopy(handle_t h, uint32_t n, unsigned char* data) {
  return m_Checksum(h, n, data);
}
// Sums wrap: the values are the fuzzer's.
int32_t m_Blobs(handle_t, uint32_t n, PBLOB* items, PBLOB* result) {
  uint32_t bytes = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (items[i] != nullptr) bytes += items[i]->cb;
    result[i] = items[n - 1 - i];
  }
  return static_cast<int32_t>(bytes);
}
int32_t m_Grid(handle_t, int16_t fixed[2][3], uint32_t n, int32_t m[][2], GRID* g,
               int16_t transposed[3][2]) {
  uint32_t sum = 0;
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      sum += static_cast<uint32_t>(fixed[i][j]);
      transposed[j][i] = fixed[i][j];
    }
  }
  for (uint32_t i = 0; i < n; ++i) sum += static_cast<uint32_t>(m[i][0] + 0LL + m[i][1]);
  int16_t(*cells)[3] = g->cells;
  for (uint32_t i = 0; i < g->rows; ++i) sum += static_cast<uint32_t>(cells[i][0] + cells[i][2]);
  return static_cast<int32_t>(sum);
}
int32_t m_Divide(handle_t, int32_t a, int32_t b, error_status_t* status) {
  *status = 0;
  return b == 0 || (a == INT32_MIN && b == -1) ? 0 : a / b;
}
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const warden::stub::InterfaceSpec& spec = warden::stub::spec(tree_v1_0_s_ifspec);
  warden::ndr::Limits limits;
  limits.maxAllocationBytes = std::size_t{16} << 20;
  std::vector<std::uint8_t> request(data + 1, data + size);
  std::vector<std::uint8_t> reply;
  static warden::stub::ContextTable contexts;
  warden::stub::dispatch(spec, nullptr, data[0] % (spec.operationCount + 1), request, reply,
                         nullptr, limits, nullptr, nullptr, &contexts);
  contexts.runDown();
  return 0;
}
