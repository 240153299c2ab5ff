// Test support for the decode tests: the decoder and field table against tshark on one capture.
#pragma once

#include <string>

namespace warden::decode {

// Every field of every frame (23 fields: addresses, ports, raw sequence numbers, lengths, TTL, ids,
// DNS and HTTP) must equal tshark's first occurrence, frame-local (no reassembly or
// defragmentation). Reports through gtest; skips an unreadable capture.
void expectFieldsMatchTshark(const std::string& path);

}  // namespace warden::decode
