// Reads a few frames, allocates through the host, then throws from the middle of Run: the host
// catches it at the boundary and reclaims what the expert held.
#include <stdexcept>

#include "common.h"

WARDEN_EXPERT_PLUGIN();

extern "C" int Register(WardenExpertInfo* info) {
  testRegister(info, "Throws", 0);
  return 1;
}

extern "C" int Run(WardenKey key, const WardenExpertConfig*, const WardenStartupInfo*, uint32_t) {
  std::uint64_t bytes = 0, blocks = 0;
  WardenFrameDescriptor frame;
  std::uint32_t number = 0;
  for (int i = 0; i < 5; ++i) {
    if (WardenGetFrame(key, WARDEN_FRAME_NEXT_FORWARD, 0, number, nullptr, &frame) != WARDEN_OK) {
      break;
    }
    number = frame.frameNumber;
    void* copy = WardenAllocMemory(key, frame.capturedLength, nullptr);
    if (copy == nullptr) return 0;
    bytes += frame.capturedLength;
    ++blocks;
  }
  for (int i = 0; i < 20; ++i) {
    if (WardenAllocMemory(key, 4096, nullptr) == nullptr) return 0;
    bytes += 4096;
    ++blocks;
  }
  submitHolding(key, bytes, blocks);
  throw std::runtime_error("boom after frame " + std::to_string(number));
}
