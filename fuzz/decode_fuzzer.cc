// Fuzzes the frame decoders: the first byte picks a link type, the rest is the frame. The frame is
// copied to a buffer of exactly its size so ASan sees any read past it.
#include <cstring>
#include <vector>

#include "decode/decoder.h"
#include "decode/fields.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static constexpr std::uint16_t kLinkTypes[] = {0, 1, 101, 108, 113, 228, 229, 239, 276};
  std::uint16_t linkType = kLinkTypes[data[0] % (sizeof kLinkTypes / sizeof kLinkTypes[0])];
  std::vector<std::byte> frame(size - 1);
  if (size > 1) std::memcpy(frame.data(), data + 1, size - 1);
  warden::decode::DecodedFrame d;
  warden::decode::decodeFrame(frame, linkType, static_cast<std::uint32_t>(frame.size()), d);
  warden::decode::FieldValue values[2];
  for (const auto& field : warden::decode::allFields()) {
    int n = field.get(d, values);
    for (int i = 0; i < n; ++i) (void)values[i].toString();
  }
  (void)d.protocols();
  return 0;
}
