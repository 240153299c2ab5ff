/* The tree interface's server built by widl and run under Wine's rpcrt4: the managers a Warden
 * client calls (Sum, Change, Build, Visit, Checksum, the COUNTER context handle, Fail), the same
 * as examples/tree's; the other operations raise RPC_S_CANNOT_SUPPORT. Listens on
 * ncacn_ip_tcp:127.0.0.1[PORT], prints "listening" once it does, and serves until killed.
 * Usage: tree_server.exe PORT */
#include <stdio.h>

#include "tree_common.h"

LONG __cdecl Sum(handle_t h, PTREE root) { return sumOf(root); }

void __cdecl Change(handle_t h, PTREE root) {
  root->pRight = NULL; /* the stub frees our copy of the right subtree */
  for (TREE* n = root; n != NULL; n = n->pLeft) {
    n->sNumber = (short)(n->sNumber * 2);
    if (n->pLeft == NULL) {
      n->pLeft = node((short)-n->sNumber);
      break;
    }
  }
}

void __cdecl Build(handle_t h, short depth, PTREE* result) {
  short next = 1;
  *result = complete(depth, &next);
}

LONG __cdecl Visit(handle_t h, GNODE* g) {
  /* Marks by adding 100 once: ids below 100 are unvisited (the client sends small ones). */
  GNODE* stack[64];
  int top = 0;
  LONG seen = 0;
  if (g) stack[top++] = g;
  while (top > 0) {
    GNODE* n = stack[--top];
    if (n->id >= 100) continue;
    n->id += 100;
    ++seen;
    if (n->a && top < 64) stack[top++] = n->a;
    if (n->b && top < 64) stack[top++] = n->b;
  }
  return seen;
}

LONG __cdecl Checksum(handle_t h, ULONG n, byte* data) {
  LONG sum = 0;
  for (ULONG i = 0; i < n; ++i) sum += data[i];
  return sum;
}

void __cdecl Open(handle_t h, LONG start, COUNTER* counter) {
  LONG* value = MIDL_user_allocate(sizeof(LONG));
  *value = start;
  *counter = value;
}
LONG __cdecl Next(COUNTER counter) { return ++*(LONG*)counter; }
void __cdecl Close(COUNTER* counter) {
  MIDL_user_free(*counter);
  *counter = NULL;
}
void __RPC_USER COUNTER_rundown(COUNTER counter) { MIDL_user_free(counter); }

error_status_t __cdecl Fail(handle_t h, ULONG code) {
  RpcRaiseException(code);
  return 0;
}

/* Not part of the interop run. */
#define UNSUPPORTED RpcRaiseException(RPC_S_CANNOT_SUPPORT)
void __cdecl BuildAll(handle_t h, short depth, PTREE_ALL* result) { UNSUPPORTED; }
LONG __cdecl SumAll(handle_t h, PTREE_ALL root) {
  UNSUPPORTED;
  return 0;
}
LONG __cdecl Keep(handle_t h, PTREE_KEEP root) {
  UNSUPPORTED;
  return 0;
}
void __cdecl BuildInto(handle_t h, ULONG cb, short depth, TREE* result) { UNSUPPORTED; }
void __cdecl Twice(handle_t h, TAGGED* t) { UNSUPPORTED; }
LONG __cdecl Area(handle_t h, SHAPE* s) {
  UNSUPPORTED;
  return 0;
}
LONG __cdecl SumCounts(handle_t h, COUNTS* c) {
  UNSUPPORTED;
  return 0;
}
void __cdecl Bump(handle_t h, COUNTS* c) { UNSUPPORTED; }
void __cdecl MakeCounts(handle_t h, ULONG n, COUNTS** c) { UNSUPPORTED; }
error_status_t __cdecl Reach(handle_t h) { return 0; }
LONG __cdecl CountChars(handle_t h, ULONG n, wchar_t** names) {
  UNSUPPORTED;
  return 0;
}
void __cdecl Names(handle_t h, ULONG n, wchar_t** names) { UNSUPPORTED; }
LONG __cdecl ChecksumCopy(handle_t h, ULONG n, byte* data) { return Checksum(h, n, data); }
LONG __cdecl Blobs(handle_t h, ULONG n, PTREE_BLOB items[], PTREE_BLOB result[]) {
  UNSUPPORTED;
  return 0;
}
LONG __cdecl Grid(handle_t h, short fixed[2][3], ULONG n, LONG m[][2], GRID* g,
                  short transposed[3][2]) {
  UNSUPPORTED;
  return 0;
}
LONG __cdecl Divide(handle_t h, LONG a, LONG b, error_status_t* status) {
  UNSUPPORTED;
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    printf("usage: tree_server.exe PORT\n");
    return 2;
  }
  RPC_STATUS status = RpcServerUseProtseqEpA(
      (RPC_CSTR) "ncacn_ip_tcp", RPC_C_PROTSEQ_MAX_REQS_DEFAULT, (RPC_CSTR)argv[1], NULL);
  if (status == RPC_S_OK) status = RpcServerRegisterIf(tree_v1_0_s_ifspec, NULL, NULL);
  if (status == RPC_S_OK) status = RpcServerListen(1, RPC_C_LISTEN_MAX_CALLS_DEFAULT, TRUE);
  if (status != RPC_S_OK) {
    printf("wrong: server status %ld\n", (long)status);
    return 1;
  }
  printf("listening\n");
  fflush(stdout);
  RpcMgmtWaitServerListen();
  return 0;
}
