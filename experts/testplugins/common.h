// Shared bits of the fault-injection test plug-ins (C): registration and a "holding" event that
// tells the test what the plug-in holds through the host when it fails.
#ifndef WARDEN_TESTPLUGINS_COMMON_H_
#define WARDEN_TESTPLUGINS_COMMON_H_

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warden/expert.h"

static inline void testRegister(WardenExpertInfo* info, const char* name, uint32_t flags) {
  snprintf(info->name, sizeof info->name, "%s", name);
  snprintf(info->vendor, sizeof info->vendor, "Warden tests");
  snprintf(info->description, sizeof info->description, "fault injection: %s", name);
  info->version = 1;
  info->flags = flags;
}

// Event id 100: "Holding" with the bytes and blocks the plug-in holds right now.
static inline uint32_t submitHolding(WardenKey key, uint64_t bytes, uint64_t blocks) {
  WardenColumn columns[2];
  WardenEvent event;
  memset(columns, 0, sizeof columns);
  memset(&event, 0, sizeof event);
  columns[0].name = "bytes";
  columns[0].type = WARDEN_COLUMN_F64;
  columns[0].value.f64 = (double)bytes;
  columns[1].name = "blocks";
  columns[1].type = WARDEN_COLUMN_U32;
  columns[1].value.u32 = (uint32_t)blocks;
  event.id = 100;
  event.eventName = "Holding";
  event.columnCount = 2;
  event.columns = columns;
  return WardenSubmitEvent(key, &event);
}

// A configure that accepts the listed options and stores nothing (the options are read again
// in Run, where the tests need them).
static inline int readOptions(WardenKey key, const char* const* names, int count) {
  char value[256];
  int i;
  for (i = 0; i < count; ++i) {
    uint32_t rc = WardenGetOption(key, names[i], value, sizeof value);
    if (rc != WARDEN_OK && rc != WARDEN_ERR_NOT_FOUND) return 0;
  }
  return 1;
}

static inline long optionLong(WardenKey key, const char* name, long fallback) {
  char value[64];
  if (WardenGetOption(key, name, value, sizeof value) != WARDEN_OK) return fallback;
  return strtol(value, NULL, 10);
}

#endif  // WARDEN_TESTPLUGINS_COMMON_H_
