/* What the Wine client and server share: MIDL's allocator and tree helpers (winelib C). */
#ifndef WARDEN_TREE_WINE_COMMON_H
#define WARDEN_TREE_WINE_COMMON_H

#include <stdlib.h>

#include "tree.h"

void* __RPC_USER MIDL_user_allocate(SIZE_T size) { return malloc(size); }
void __RPC_USER MIDL_user_free(void* p) { free(p); }

static TREE* node(short n) {
  TREE* t = MIDL_user_allocate(sizeof(TREE));
  t->sNumber = n;
  t->pLeft = t->pRight = NULL;
  return t;
}

static LONG sumOf(const TREE* t) { return t ? t->sNumber + sumOf(t->pLeft) + sumOf(t->pRight) : 0; }

/* A complete tree of `depth` levels numbered in preorder from *next. */
static TREE* complete(short depth, short* next) {
  if (depth <= 0) return NULL;
  TREE* t = node((*next)++);
  t->pLeft = complete(depth - 1, next);
  t->pRight = complete(depth - 1, next);
  return t;
}

static int freeTree(TREE* t) {
  if (t == NULL) return 0;
  int n = 1 + freeTree(t->pLeft) + freeTree(t->pRight);
  MIDL_user_free(t);
  return n;
}

#endif
