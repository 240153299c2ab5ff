// Shared by the capture fuzzers: index the bytes in both modes and touch every frame, decoding it,
// so a reader bug or a bad frame view shows up under ASan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "capture/capture.h"
#include "decode/decoder.h"

namespace warden::fuzz {

inline void indexAndDecode(const std::vector<std::byte>& bytes) {
  for (bool strict : {false, true}) {
    Result<capture::Capture> c = capture::Capture::fromBytes(bytes, "fuzz", {.strict = strict});
    if (!c.ok()) continue;
    decode::DecodedFrame d;
    for (std::size_t i = 0; i < c->frameCount(); ++i) {
      capture::Frame f = c->frame(i);
      decode::decodeFrame(f.bytes, f.linkType, f.wireLength, d);
    }
  }
}

// The fuzzer's bytes after a fixed magic, so the fuzzer explores one format's reader.
inline std::vector<std::byte> withMagic(const void* magic, std::size_t magicSize,
                                        const std::uint8_t* data, std::size_t size) {
  std::vector<std::byte> bytes(magicSize + size);
  std::memcpy(bytes.data(), magic, magicSize);
  if (size) std::memcpy(bytes.data() + magicSize, data, size);
  return bytes;
}

}  // namespace warden::fuzz
