// Fuzzes the display-filter parser, and evaluates what parses against a fixed frame.
#include <string_view>

#include "decode/decoder.h"
#include "decode/display_filter.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto filter = warden::decode::DisplayFilter::parse(text);
  if (!filter.ok()) return 0;
  static const unsigned char kFrame[] = {
      0x45, 0,    0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10,   0,    0,    1, 10, 0, 0, 2,
      0xd4, 0x31, 0, 80, 0, 0, 0,    1, 0,  0, 0, 2, 0x50, 0x12, 0x10, 0, 0,  0, 0, 0};
  warden::decode::DecodedFrame d;
  warden::decode::decodeFrame(std::as_bytes(std::span(kFrame)), 228, sizeof kFrame, d);
  (void)filter->matches(d);
  return 0;
}
