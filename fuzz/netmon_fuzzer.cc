// Fuzzes the NetMon 2.x reader: the input follows the "GMBU" magic.
#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  warden::fuzz::indexAndDecode(warden::fuzz::withMagic("GMBU", 4, data, size));
  return 0;
}
