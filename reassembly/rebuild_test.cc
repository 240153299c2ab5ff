// Rebuilding frames: the mechanics on frames made here (the expert's tests check the results with
// tshark): checksums that verify, fragment fields cleared, and clear errors for what cannot be
// rebuilt.
#include "reassembly/rebuild.h"

#include <gtest/gtest.h>

#include <vector>

namespace warden::reassembly {
namespace {

// Ethernet + IPv4 (20) + TCP (20) with `payload` bytes, MF set when `fragment`.
std::vector<std::byte> frame(std::size_t payload, bool fragment = false) {
  std::vector<std::uint8_t> b = {
      0,    1,    2,    3,    4,    5,    6,    7, 8,    9,    10,   11,   0x08, 0x00,  // Ethernet
      0x45, 0,    0,    0,    0x12, 0x34, 0x40, 0, 64,   6,    0,    0,                 // IPv4
      10,   0,    0,    1,    10,   0,    0,    2, 0x04, 0xd2, 0x00, 0x50, 0,    0,
      0,    1,    0,    0,    0,    1,  // TCP
      0x50, 0x18, 0xff, 0xff, 0,    0,    0,    0};
  if (fragment) b[20] |= 0x20;  // MF beside DF: only MF may go
  std::size_t total = 40 + payload;
  b[16] = static_cast<std::uint8_t>(total >> 8);
  b[17] = static_cast<std::uint8_t>(total);
  b.resize(b.size() + payload, 0x61);
  std::vector<std::byte> out(b.size());
  for (std::size_t i = 0; i < b.size(); ++i) out[i] = static_cast<std::byte>(b[i]);
  return out;
}

std::uint16_t sum(std::span<const std::byte> b, std::uint32_t s = 0) {
  for (std::size_t i = 0; i + 1 < b.size(); i += 2)
    s += static_cast<std::uint8_t>(b[i]) << 8 | static_cast<std::uint8_t>(b[i + 1]);
  if (b.size() % 2) s += static_cast<std::uint8_t>(b.back()) << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<std::uint16_t>(s);
}

TEST(Rebuild, SegmentHasTheNewSequenceLengthsAndVerifyingChecksums) {
  auto model = frame(10);
  decode::DecodedFrame d;
  decode::decodeFrame(model, 1, static_cast<std::uint32_t>(model.size()), d);
  std::vector<std::byte> payload(3001, std::byte{0x42});
  auto out = rebuildSegment(model, d, 0x01020304, payload);
  ASSERT_TRUE(out.ok()) << out.status().toString();
  ASSERT_EQ(out->size(), 14 + 40 + payload.size());
  decode::DecodedFrame r;
  decode::decodeFrame(*out, 1, static_cast<std::uint32_t>(out->size()), r);
  EXPECT_EQ(r.ipv4.totalLength, 40 + payload.size());
  EXPECT_EQ(r.tcp.seq, 0x01020304u);
  EXPECT_EQ(r.tcp.len, payload.size());
  EXPECT_TRUE(r.ipv4.checksumGood);
  // TCP: the sum over pseudo-header and segment is all ones.
  std::span<const std::byte> o(*out);
  std::uint32_t pseudo =
      sum(o.subspan(26, 8)) + 6 + static_cast<std::uint32_t>(20 + payload.size());
  EXPECT_EQ(sum(o.subspan(34), pseudo), 0xffff);
}

TEST(Rebuild, DatagramClearsFragmentFields) {
  auto first = frame(16, true);
  decode::DecodedFrame d;
  decode::decodeFrame(first, 1, static_cast<std::uint32_t>(first.size()), d);
  ASSERT_TRUE(d.ipFragment());
  std::vector<std::byte> payload(5000, std::byte{0x33});
  auto out = rebuildDatagram(first, d, payload);
  ASSERT_TRUE(out.ok()) << out.status().toString();
  decode::DecodedFrame r;
  decode::decodeFrame(*out, 1, static_cast<std::uint32_t>(out->size()), r);
  EXPECT_FALSE(r.ipFragment());
  EXPECT_TRUE(r.ipv4.dontFragment) << "DF is kept";
  EXPECT_EQ(r.ipv4.totalLength, 20 + payload.size());
  EXPECT_TRUE(r.ipv4.checksumGood);
}

TEST(Rebuild, WhatCannotBeRebuiltIsAClearError) {
  auto model = frame(10);
  decode::DecodedFrame d;
  decode::decodeFrame(model, 1, static_cast<std::uint32_t>(model.size()), d);
  std::vector<std::byte> huge(70000);
  auto tooBig = rebuildSegment(model, d, 1, huge);
  ASSERT_FALSE(tooBig.ok());
  EXPECT_EQ(tooBig.status().code(), Code::kLimitExceeded);
  EXPECT_NE(tooBig.status().toString().find("70000"), std::string::npos);
  std::vector<std::byte> arp(42, std::byte{0});
  arp[12] = std::byte{0x08};
  arp[13] = std::byte{0x06};
  decode::DecodedFrame a;
  decode::decodeFrame(arp, 1, 42, a);
  EXPECT_FALSE(rebuildSegment(arp, a, 1, {}).ok());
  EXPECT_FALSE(rebuildDatagram(arp, a, {}).ok());
}

}  // namespace
}  // namespace warden::reassembly
