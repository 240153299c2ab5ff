// Walks the capture round and round holding some memory; once told to terminate it carries on
// for `ignore_ms` milliseconds (default 1000) before it returns.
#include <time.h>

#include "common.h"

WARDEN_EXPERT_PLUGIN();

int Register(WardenExpertInfo* info) {
  testRegister(info, "Stubborn", WARDEN_EXPERT_CONFIGURABLE);
  return 1;
}

int Configure(WardenKey key, WardenExpertConfig** config, const WardenStartupInfo* startup,
              uint32_t flags) {
  static const char* const kNames[] = {"ignore_ms"};
  (void)config, (void)startup, (void)flags;
  return readOptions(key, kNames, 1);
}

static void sleepMs(long ms) {
  struct timespec t;
  t.tv_sec = ms / 1000;
  t.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&t, NULL);
}

int Run(WardenKey key, const WardenExpertConfig* config, const WardenStartupInfo* startup,
        uint32_t flags) {
  long ignoreMs = optionLong(key, "ignore_ms", 1000);
  uint32_t number = 0, rc;
  int i;
  WardenFrameDescriptor frame;
  (void)config, (void)startup, (void)flags;
  for (i = 0; i < 100; ++i) {
    if (WardenAllocMemory(key, 1000, NULL) == NULL) return 0;
  }
  submitHolding(key, 100000, 100);
  for (;;) {
    rc = WardenGetFrame(key, WARDEN_FRAME_NEXT_FORWARD, 0, number, NULL, &frame);
    if (rc == WARDEN_ERR_TERMINATE) break;
    number = rc == WARDEN_OK ? frame.frameNumber : 0;
    if (rc != WARDEN_OK) sleepMs(1);
  }
  sleepMs(ignoreMs);
  return 0;
}
