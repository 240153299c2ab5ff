// Fuzzes the pcapng reader: the input follows a section header block's type field.
#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static constexpr std::uint32_t kSectionHeader = 0x0a0d0d0a;
  warden::fuzz::indexAndDecode(warden::fuzz::withMagic(&kSectionHeader, 4, data, size));
  return 0;
}
