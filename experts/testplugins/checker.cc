// Checks the helpers' contract from the expert's side of the ABI: memory errors, frame
// directions and filters, startup info, options, resources. The first broken promise is reported
// as a PROBLEM status and Run fails; the test asserts success.
#include <cstdlib>
#include <cstring>
#include <string>

#include "common.h"

WARDEN_EXPERT_PLUGIN();

#define EXPECT(condition)                                                                     \
  do {                                                                                        \
    if (!(condition)) {                                                                       \
      WardenIndicateStatus(key, WARDEN_STATUS_PROBLEM, __LINE__, "expected: " #condition, 0); \
      return 0;                                                                               \
    }                                                                                         \
  } while (0)

namespace {
int closed = 0;
int countClose(void*) {
  ++closed;
  return 0;
}
}  // namespace

extern "C" int Register(WardenExpertInfo* info) {
  testRegister(info, "Checker", WARDEN_EXPERT_CONFIGURABLE);
  return 1;
}

// Stores option "answer" in a configuration blob: {length, int answer}.
extern "C" int Configure(WardenKey key, WardenExpertConfig** config, const WardenStartupInfo*,
                         uint32_t) {
  char value[8];
  EXPECT(WardenGetOption(key, "answer", value, 2) == WARDEN_ERR_BUFFER_TOO_SMALL);
  EXPECT(WardenGetOption(key, "answer", value, sizeof value) == WARDEN_OK);
  EXPECT(WardenGetOption(key, "missing", value, sizeof value) == WARDEN_ERR_NOT_FOUND);
  uint32_t error = 0;
  auto* blob = static_cast<WardenExpertConfig*>(WardenAllocMemory(key, 8, &error));
  EXPECT(blob != nullptr && error == WARDEN_OK);
  blob->rawConfigLength = 8;
  int answer = std::atoi(value);
  std::memcpy(blob->rawConfigData, &answer, 4);
  *config = blob;
  return 1;
}

extern "C" int Run(WardenKey key, const WardenExpertConfig* config,
                   const WardenStartupInfo* startup, uint32_t) {
  // The configuration made in Configure arrives in Run's memory.
  EXPECT(config != nullptr && config->rawConfigLength == 8);
  int answer;
  std::memcpy(&answer, config->rawConfigData, 4);
  EXPECT(answer == 42);
  EXPECT(WardenMemorySize(key, config) == 0);  // the host's, not a block of the run

  // Memory.
  uint32_t error = 0;
  void* a = WardenAllocMemory(key, 100, &error);
  EXPECT(a != nullptr && (reinterpret_cast<uintptr_t>(a) % 16) == 0);
  EXPECT(WardenMemorySize(key, a) == 100);
  a = WardenReallocMemory(key, a, 50000, &error);
  EXPECT(a != nullptr && WardenMemorySize(key, a) == 50000);
  EXPECT(WardenFreeMemory(key, a) == WARDEN_OK);
  EXPECT(WardenFreeMemory(key, a) == WARDEN_ERR_INVALID_POINTER);  // double free
  int local = 0;
  EXPECT(WardenFreeMemory(key, &local) == WARDEN_ERR_INVALID_POINTER);  // foreign
  EXPECT(WardenReallocMemory(key, &local, 10, &error) == nullptr &&
         error == WARDEN_ERR_INVALID_POINTER);
  EXPECT(WardenMemorySize(key, &local) == 0);

  // Startup info.
  WardenStartupInfo info;
  EXPECT(WardenGetStartupInfo(key, &info) == WARDEN_OK);
  EXPECT(info.frameCount == startup->frameCount && info.frameCount > 2);
  EXPECT(std::strcmp(info.options, "answer=42") == 0);
  EXPECT(info.focusedFrame == 2 && std::strcmp(info.focusedField, "tcp.seq") == 0);

  // Frames: forward from the start, backward from the end, specific, out of range.
  WardenFrameDescriptor f;
  EXPECT(WardenGetFrame(key, WARDEN_FRAME_NEXT_FORWARD, 0, UINT32_MAX, nullptr, &f) == WARDEN_OK);
  EXPECT(f.frameNumber == 1 && f.data != nullptr && f.protocols == nullptr);
  EXPECT(WardenGetFrame(key, WARDEN_FRAME_NEXT_FORWARD, 0, 0, nullptr, &f) == WARDEN_OK &&
         f.frameNumber == 1);
  EXPECT(WardenGetFrame(key, WARDEN_FRAME_NEXT_BACKWARD, 0, UINT32_MAX, nullptr, &f) == WARDEN_OK &&
         f.frameNumber == info.frameCount);
  EXPECT(WardenGetFrame(key, WARDEN_FRAME_NEXT_BACKWARD, 0, 1, nullptr, &f) ==
         WARDEN_ERR_NO_MORE_FRAMES);
  EXPECT(WardenGetFrame(key, WARDEN_FRAME_NEXT_FORWARD, 0, info.frameCount, nullptr, &f) ==
         WARDEN_ERR_NO_MORE_FRAMES);
  EXPECT(WardenGetFrame(key, WARDEN_FRAME_SPECIFIC, 0, info.frameCount + 1, nullptr, &f) ==
         WARDEN_ERR_NOT_FOUND);
  EXPECT(WardenGetFrame(key, 7, 0, 1, nullptr, &f) == WARDEN_ERR_INVALID_PARAMETER);
  EXPECT(WardenGetFrame(key, WARDEN_FRAME_SPECIFIC, WARDEN_FRAME_ATTACH_FIELDS, 1, nullptr, &f) ==
         WARDEN_OK);
  EXPECT(f.protocols != nullptr && std::strncmp(f.protocols, "eth:", 4) == 0 && f.fieldCount > 5);
  bool haveLen = false;
  for (uint32_t i = 0; i < f.fieldCount; ++i) {
    if (std::strcmp(f.fields[i].name, "frame.len") == 0)
      haveLen = f.fields[i].number == f.wireLength;
  }
  EXPECT(haveLen);
  const uint32_t allFields = f.fieldCount;

  // Field selection: only the named fields, in the table's order; unknown names change nothing.
  const char* wanted[] = {"ip.addr", "frame.len", "frame.len"};
  EXPECT(WardenSelectFields(key, wanted, 3) == WARDEN_OK);
  EXPECT(WardenGetFrame(key, WARDEN_FRAME_SPECIFIC, WARDEN_FRAME_ATTACH_FIELDS, 1, nullptr, &f) ==
         WARDEN_OK);
  EXPECT(f.fieldCount == 3 && std::strcmp(f.fields[0].name, "frame.len") == 0 &&
         f.fields[0].number == f.wireLength && std::strcmp(f.fields[1].name, "ip.addr") == 0 &&
         std::strcmp(f.fields[2].name, "ip.addr") == 0 && f.protocols != nullptr);
  const char* unknown[] = {"frame.len", "no.such_field"};
  EXPECT(WardenSelectFields(key, unknown, 2) == WARDEN_ERR_NOT_FOUND);
  EXPECT(WardenSelectFields(key, nullptr, 1) == WARDEN_ERR_INVALID_PARAMETER);
  EXPECT(WardenGetFrame(key, WARDEN_FRAME_SPECIFIC, WARDEN_FRAME_ATTACH_FIELDS, 1, nullptr, &f) ==
         WARDEN_OK);
  EXPECT(f.fieldCount == 3);
  EXPECT(WardenSelectFields(key, nullptr, 0) == WARDEN_OK);
  EXPECT(WardenGetFrame(key, WARDEN_FRAME_SPECIFIC, WARDEN_FRAME_ATTACH_FIELDS, 1, nullptr, &f) ==
         WARDEN_OK);
  EXPECT(f.fieldCount == allFields);

  // Retaining frames is advice about memory; a frame past the last is refused.
  EXPECT(WardenRetainFrames(key, 1) == WARDEN_OK);
  EXPECT(WardenRetainFrames(key, info.frameCount) == WARDEN_OK);
  EXPECT(WardenRetainFrames(key, info.frameCount + 1) == WARDEN_ERR_NOT_FOUND);
  EXPECT(WardenRetainFrames(key, 0) == WARDEN_OK);

  // Filters: the expert's own, a bad one with its reason, the run's (--filter "tcp.port == 80").
  WardenFilter* syn = nullptr;
  EXPECT(WardenCreateFilter(key, "tcp.flags.syn == 1", &syn, nullptr, 0) == WARDEN_OK);
  EXPECT(WardenGetFrame(key, WARDEN_FRAME_NEXT_FORWARD, WARDEN_FRAME_ATTACH_FIELDS, 0, syn, &f) ==
         WARDEN_OK);
  bool synSet = false;
  for (uint32_t i = 0; i < f.fieldCount; ++i) {
    if (std::strcmp(f.fields[i].name, "tcp.flags.syn") == 0) synSet = f.fields[i].number == 1;
  }
  EXPECT(synSet);
  uint32_t firstSyn = f.frameNumber;
  EXPECT(WardenGetFrame(key, WARDEN_FRAME_SPECIFIC, 0, firstSyn + 1, syn, &f) ==
             WARDEN_ERR_FAILED_FILTER ||
         f.frameNumber == firstSyn + 1);
  char message[200] = "";
  WardenFilter* bad = nullptr;
  EXPECT(WardenCreateFilter(key, "tcp.port ==", &bad, message, sizeof message) ==
         WARDEN_ERR_BAD_FILTER);
  EXPECT(std::strstr(message, "column") != nullptr);
  EXPECT(WardenDestroyFilter(key, syn) == WARDEN_OK);
  EXPECT(WardenDestroyFilter(key, syn) == WARDEN_ERR_BAD_FILTER);
  uint32_t matching = 0, number = 0;
  while (WardenGetFrame(key, WARDEN_FRAME_NEXT_FORWARD, WARDEN_FRAME_APPLY_RUN_FILTER, number,
                        nullptr, &f) == WARDEN_OK) {
    number = f.frameNumber;
    ++matching;
  }
  EXPECT(matching > 0 && matching <= info.frameCount);

  // Resources: released with its closer, released without, unknown.
  WardenResource r1 = 0, r2 = 0;
  EXPECT(WardenRegisterResource(key, "one", countClose, nullptr, &r1) == WARDEN_OK && r1 != 0);
  EXPECT(WardenRegisterResource(key, "two", countClose, nullptr, &r2) == WARDEN_OK);
  EXPECT(WardenReleaseResource(key, r1, 1) == WARDEN_OK && closed == 1);
  EXPECT(WardenReleaseResource(key, r2, 0) == WARDEN_OK && closed == 1);
  EXPECT(WardenReleaseResource(key, r2, 1) == WARDEN_ERR_NOT_FOUND);

  // Events: too many columns and bad types are refused; a good one is copied.
  WardenColumn column{};
  column.name = "n";
  column.type = 99;
  WardenEvent event{};
  event.eventName = "check";
  event.columnCount = 1;
  event.columns = &column;
  EXPECT(WardenSubmitEvent(key, &event) == WARDEN_ERR_INVALID_PARAMETER);
  event.columnCount = 256;
  EXPECT(WardenSubmitEvent(key, &event) == WARDEN_ERR_INVALID_PARAMETER);
  std::string text = "copied";
  column.type = WARDEN_COLUMN_STRING;
  column.value.string = text.c_str();
  event.columnCount = 1;
  EXPECT(WardenSubmitEvent(key, &event) == WARDEN_OK);
  text = "changed";  // the host must have copied the first
  EXPECT(WardenSubmitEvent(key, &event) == WARDEN_OK);
  EXPECT(WardenIndicateStatus(key, WARDEN_STATUS_RUNNING, 0, "done checking", 99) == WARDEN_OK);
  return 1;
}
