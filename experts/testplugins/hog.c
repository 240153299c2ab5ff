// Allocates 64 KiB blocks until the host refuses, then keeps asking: after the quota abort every
// helper must answer TERMINATE, and it returns.
#include "common.h"

WARDEN_EXPERT_PLUGIN();

int Register(WardenExpertInfo* info) {
  testRegister(info, "Hog", 0);
  return 1;
}

int Run(WardenKey key, const WardenExpertConfig* config, const WardenStartupInfo* startup,
        uint32_t flags) {
  uint32_t error = WARDEN_OK;
  WardenFrameDescriptor frame;
  (void)config, (void)startup, (void)flags;
  for (;;) {
    if (WardenAllocMemory(key, 65536, &error) == NULL) break;
  }
  // The refusal itself says out of memory; from then on it is TERMINATE everywhere.
  if (error != WARDEN_ERR_OUT_OF_MEMORY) return 0;
  if (WardenAllocMemory(key, 16, &error) != NULL || error != WARDEN_ERR_TERMINATE) return 0;
  if (WardenGetFrame(key, WARDEN_FRAME_NEXT_FORWARD, 0, 0, NULL, &frame) != WARDEN_ERR_TERMINATE)
    return 0;
  if (WardenIndicateStatus(key, WARDEN_STATUS_RUNNING, 0, NULL, 1) != WARDEN_ERR_TERMINATE)
    return 0;
  return 1;  // claims success: the host must still report the quota
}
