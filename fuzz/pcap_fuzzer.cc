// Fuzzes the pcap reader (the four magic numbers are chosen by the first input byte).
#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static constexpr std::uint32_t kMagics[] = {0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1};
  std::uint32_t magic = kMagics[data[0] % 4];
  warden::fuzz::indexAndDecode(warden::fuzz::withMagic(&magic, 4, data + 1, size - 1));
  return 0;
}
