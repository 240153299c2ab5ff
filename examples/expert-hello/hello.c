// Hello expert: counts frames per protocol (each protocol of a frame's stack once), built out of
// tree against the installed Warden SDK. Its working table lives in host memory, so if it fails
// the host frees it; it reports one event per protocol.
#include <stdio.h>
#include <string.h>
#include <warden/expert.h>

WARDEN_EXPERT_PLUGIN();

enum { kMaxProtocols = 64, kNameBytes = 24 };

typedef struct Count {
  char name[kNameBytes];
  uint32_t frames;
} Count;

int Register(WardenExpertInfo* info) {
  snprintf(info->name, sizeof info->name, "Hello");
  snprintf(info->vendor, sizeof info->vendor, "Warden examples");
  snprintf(info->description, sizeof info->description, "Frames per protocol");
  info->version = 1;
  info->flags = 0;
  return 1;
}

static Count* countOf(Count* counts, uint32_t* used, const char* name, size_t length) {
  uint32_t i;
  if (length >= kNameBytes) length = kNameBytes - 1;
  for (i = 0; i < *used; ++i) {
    if (strncmp(counts[i].name, name, length) == 0 && counts[i].name[length] == '\0')
      return &counts[i];
  }
  if (*used == kMaxProtocols) return NULL;
  memcpy(counts[*used].name, name, length);
  counts[*used].name[length] = '\0';
  return &counts[(*used)++];
}

int Run(WardenKey key, const WardenExpertConfig* config, const WardenStartupInfo* startup,
        uint32_t startupFlags) {
  uint32_t error = 0, used = 0, number = 0, rc, i;
  WardenFrameDescriptor frame;
  Count* counts;
  (void)config, (void)startup, (void)startupFlags;
  counts = (Count*)WardenAllocMemory(key, kMaxProtocols * sizeof(Count), &error);
  if (counts == NULL) return 0;  // the host reports why
  memset(counts, 0, kMaxProtocols * sizeof(Count));
  while ((rc = WardenGetFrame(key, WARDEN_FRAME_NEXT_FORWARD,
                              WARDEN_FRAME_APPLY_RUN_FILTER | WARDEN_FRAME_ATTACH_PROTOCOLS, number,
                              NULL, &frame)) == WARDEN_OK) {
    const char* p = frame.protocols;
    Count* seen[16];
    uint32_t seenCount = 0, s;
    number = frame.frameNumber;
    while (*p) {
      const char* end = strchr(p, ':');
      size_t length = end ? (size_t)(end - p) : strlen(p);
      Count* c = countOf(counts, &used, p, length);
      int already = 0;
      for (s = 0; s < seenCount; ++s) already |= seen[s] == c;
      if (c != NULL && !already && seenCount < 16) {
        seen[seenCount++] = c;
        c->frames++;
      }
      p += length + (end != NULL);
    }
  }
  if (rc != WARDEN_ERR_NO_MORE_FRAMES) return 0;  // terminated
  for (i = 0; i < used; ++i) {
    WardenColumn columns[2];
    WardenEvent event;
    memset(columns, 0, sizeof columns);
    memset(&event, 0, sizeof event);
    columns[0].name = "Protocol";
    columns[0].type = WARDEN_COLUMN_STRING;
    columns[0].value.string = counts[i].name;
    columns[1].name = "Frames";
    columns[1].type = WARDEN_COLUMN_U32;
    columns[1].value.u32 = counts[i].frames;
    event.id = 1;
    event.eventName = "Protocol";
    event.columnCount = 2;
    event.columns = columns;
    if (WardenSubmitEvent(key, &event) != WARDEN_OK) return 0;
  }
  WardenFreeMemory(key, counts);
  return 1;
}
