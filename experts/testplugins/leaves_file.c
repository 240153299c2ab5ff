// Opens the file named by option `path`, registers the descriptor with the host's ledger, writes
// to it, reports the descriptor number (event 101) and fails without closing it.
#include <fcntl.h>
#include <unistd.h>

#include "common.h"

WARDEN_EXPERT_PLUGIN();

int Register(WardenExpertInfo* info) {
  testRegister(info, "Leaves a file", WARDEN_EXPERT_CONFIGURABLE);
  return 1;
}

int Configure(WardenKey key, WardenExpertConfig** config, const WardenStartupInfo* startup,
              uint32_t flags) {
  static const char* const kNames[] = {"path"};
  (void)config, (void)startup, (void)flags;
  return readOptions(key, kNames, 1);
}

static int closeFd(void* context) { return close((int)(intptr_t)context); }

int Run(WardenKey key, const WardenExpertConfig* config, const WardenStartupInfo* startup,
        uint32_t flags) {
  char path[256];
  WardenResource resource;
  WardenColumn column;
  WardenEvent event;
  int fd;
  (void)config, (void)startup, (void)flags;
  if (WardenGetOption(key, "path", path, sizeof path) != WARDEN_OK) return 0;
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  if (WardenRegisterResource(key, "output file", closeFd, (void*)(intptr_t)fd, &resource) !=
      WARDEN_OK) {
    close(fd);
    return 0;
  }
  if (write(fd, "partial", 7) != 7) return 0;
  memset(&column, 0, sizeof column);
  memset(&event, 0, sizeof event);
  column.name = "fd";
  column.type = WARDEN_COLUMN_I32;
  column.value.i32 = fd;
  event.id = 101;
  event.eventName = "Opened";
  event.columnCount = 1;
  event.columns = &column;
  WardenSubmitEvent(key, &event);
  WardenAllocMemory(key, 123, NULL);
  return 0;
}
