// Allocates `blocks` blocks (default 10,000) of varied sizes, reports what it holds, then returns
// failure without freeing anything: the host must take all of it back.
#include <stdlib.h>

#include "common.h"

WARDEN_EXPERT_PLUGIN();

int Register(WardenExpertInfo* info) {
  testRegister(info, "Fails", WARDEN_EXPERT_CONFIGURABLE);
  return 1;
}

int Configure(WardenKey key, WardenExpertConfig** config, const WardenStartupInfo* startup,
              uint32_t flags) {
  static const char* const kNames[] = {"blocks"};
  (void)config, (void)startup, (void)flags;
  return readOptions(key, kNames, 1);
}

int Run(WardenKey key, const WardenExpertConfig* config, const WardenStartupInfo* startup,
        uint32_t flags) {
  long count = optionLong(key, "blocks", 10000), i;
  uint64_t bytes = 0;
  (void)config, (void)startup, (void)flags;
  for (i = 0; i < count; ++i) {
    size_t n = 1 + (size_t)(i * 37 % 700);
    if (i % 1000 == 999) n = 20000;  // some large blocks too
    if (WardenAllocMemory(key, n, NULL) == NULL) return 0;
    bytes += n;
  }
  submitHolding(key, bytes, (uint64_t)count);
  WardenIndicateStatus(key, WARDEN_STATUS_PROBLEM, 7, "giving up on purpose", 50);
  return 0;
}
