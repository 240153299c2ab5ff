// Frames rebuilt from reassembled data, as Protocol Coalesce writes them: one IP datagram from its
// fragments, and one TCP segment carrying a whole application PDU. The link-layer header and the
// IP/TCP headers come from a template frame of the original traffic; lengths, fragment fields
// and checksums are recomputed so that a reader (tshark) sees a well-formed packet.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "decode/decoder.h"

namespace warden::reassembly {

// The largest TCP payload a rebuilt segment can carry under this template's headers.
std::size_t maxSegmentPayload(const decode::DecodedFrame& templateDecoded);

// Whether frames of this shape can be rebuilt: the link layers before the first IP header carry
// no length of their own (Ethernet, 802.1Q, SLL, SLL2, null/loopback, raw IP).
bool rebuildableLink(const decode::DecodedFrame& decoded);

// The datagram `payload` (the fragmentable part, as the defragmenter returns it) behind the
// headers of its first fragment `first`: IPv4 with MF and offset cleared, IPv6 without its
// fragment header. Errors name what is missing.
Result<std::vector<std::byte>> rebuildDatagram(std::span<const std::byte> first,
                                               const decode::DecodedFrame& firstDecoded,
                                               std::span<const std::byte> payload);

// A TCP segment with sequence number `seq` and `payload`, taking the link, IP and TCP headers
// (options, ACK, window, flags) of `templateFrame`.
Result<std::vector<std::byte>> rebuildSegment(std::span<const std::byte> templateFrame,
                                              const decode::DecodedFrame& templateDecoded,
                                              std::uint32_t seq,
                                              std::span<const std::byte> payload);

}  // namespace warden::reassembly
