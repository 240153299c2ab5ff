/* The tree interface's client built by widl and run under Wine's rpcrt4: a Microsoft-RPC-
 * compatible peer calling a server given by its string binding. Prints "ok ..." and exits 0 when
 * every answer is the one the managers of examples/tree give; otherwise names the first wrong one.
 * Usage: tree_client.exe ncacn_ip_tcp:127.0.0.1[PORT] */
#include <stdio.h>
#include <string.h>
#include <wine/exception.h>

#include "tree_common.h"

#define CHECK(cond, ...)             \
  do {                               \
    if (!(cond)) {                   \
      printf("wrong: " __VA_ARGS__); \
      printf("\n");                  \
      return 1;                      \
    }                                \
  } while (0)

static int calls(handle_t h) {
  /* Sum: a whole tree [in]. */
  TREE* root = node(1);
  root->pLeft = node(2);
  root->pRight = node(3);
  root->pLeft->pLeft = node(4);
  LONG sum = Sum(h, root);
  CHECK(sum == 10, "Sum %ld", (long)sum);

  /* Change: [in, out]; changed nodes come back into ours, a new one is allocated, the right
   * subtree is dropped (ours stays orphaned: freed here). */
  TREE* right = root->pRight;
  Change(h, root);
  CHECK(root->pRight == NULL, "Change kept the right subtree");
  CHECK(root->sNumber == 2 && root->pLeft->sNumber == 4 && root->pLeft->pLeft->sNumber == 8,
        "Change numbers %d %d %d", root->sNumber, root->pLeft->sNumber,
        root->pLeft->pLeft->sNumber);
  CHECK(root->pLeft->pLeft->pLeft != NULL && root->pLeft->pLeft->pLeft->sNumber == -8,
        "Change's new node");
  freeTree(right);
  CHECK(freeTree(root) == 4, "Change's tree");

  /* Build: a new tree [out]. */
  TREE* built = NULL;
  Build(h, 4, &built);
  CHECK(built != NULL && built->sNumber == 1 && built->pRight->sNumber == 9, "Build");
  LONG builtSum = sumOf(built);
  CHECK(builtSum == 120, "Build sum %ld", (long)builtSum);
  CHECK(freeTree(built) == 15, "Build nodes");

  /* Visit: [ptr] nodes with an alias; each node once. */
  GNODE a = {1, NULL, NULL}, b = {2, NULL, NULL}, c = {3, NULL, NULL};
  a.a = &b;
  a.b = &c;
  b.a = &c; /* c twice */
  /* No cycle: Wine 8.0's client recurses on one until its stack overflows. */
  GNODE* ga = &a;
  LONG seen = Visit(h, ga);
  CHECK(seen == 3, "Visit saw %ld", (long)seen);
  CHECK(a.id == 101 && b.id == 102 && c.id == 103, "Visit ids %ld %ld %ld", (long)a.id, (long)b.id,
        (long)c.id);

  /* A conformant array [in]. */
  byte data[1000];
  LONG expected = 0;
  for (int i = 0; i < 1000; ++i) expected += data[i] = (byte)(i * 7);
  LONG checksum = Checksum(h, 1000, data);
  CHECK(checksum == expected, "Checksum %ld", (long)checksum);

  /* A context handle. */
  COUNTER counter = NULL;
  Open(h, 41, &counter);
  CHECK(counter != NULL, "Open");
  LONG next = Next(counter);
  CHECK(next == 42, "Next %ld", (long)next);
  Close(&counter);
  CHECK(counter == NULL, "Close");

  /* A server fault arrives as an exception with its code (Wine's RpcTryExcept ignores
   * exceptions outside Wine itself: its own __TRY does not). */
  DWORD code = 0;
  __TRY { Fail(h, 0x1234); }
  __EXCEPT_ALL { code = GetExceptionCode(); }
  __ENDTRY
  CHECK(code == 0x1234, "Fail raised %lx", (unsigned long)code);
  printf("ok sum %ld built %ld visit %ld checksum %ld next %ld fault 0x%lx\n", (long)sum,
         (long)builtSum, (long)seen, (long)checksum, (long)next, (unsigned long)code);
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    printf("usage: tree_client.exe STRING-BINDING\n");
    return 2;
  }
  handle_t h = NULL;
  RPC_STATUS status = RpcBindingFromStringBindingA((RPC_CSTR)argv[1], &h);
  if (status != RPC_S_OK) {
    printf("wrong: RpcBindingFromStringBinding %ld\n", (long)status);
    return 1;
  }
  int rc = 1;
  __TRY { rc = calls(h); }
  __EXCEPT_ALL { printf("wrong: exception 0x%lx\n", (unsigned long)GetExceptionCode()); }
  __ENDTRY
  RpcBindingFree(&h);
  fflush(stdout);
  return rc;
}
