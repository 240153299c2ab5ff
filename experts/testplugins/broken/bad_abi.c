// Claims another ABI version: the host must refuse it by name and version.
#include "warden/expert.h"

WARDEN_EXPERT_EXPORT const uint32_t warden_expert_abi_version = 99;

int Register(WardenExpertInfo* info) {
  info->name[0] = 'x';
  info->name[1] = '\0';
  return 1;
}
int Run(WardenKey key, const WardenExpertConfig* c, const WardenStartupInfo* s, uint32_t f) {
  (void)key, (void)c, (void)s, (void)f;
  return 1;
}
