// A plug-in without a Run entry point.
#include "warden/expert.h"

WARDEN_EXPERT_PLUGIN();

int Register(WardenExpertInfo* info) {
  info->name[0] = 'y';
  info->name[1] = '\0';
  return 1;
}
