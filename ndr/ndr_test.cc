// The engine under the generated stubs, byte by byte: alignment from the stub data's start, both
// byte orders in, the checks untrusted counts meet before memory is taken (with the offset and
// field in the message), strings, enums, the full-pointer table and the allocators.
#include "warden/ndr.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace warden::ndr {
namespace {

std::vector<std::uint8_t> bytes(std::initializer_list<int> list) {
  std::vector<std::uint8_t> out;
  for (int b : list) out.push_back(static_cast<std::uint8_t>(b));
  return out;
}

// Counts what a decoder takes, from malloc.
struct CountingAllocator final : Allocator {
  ~CountingAllocator() override {
    for (void* p : blocks) std::free(p);
  }
  void* allocate(std::size_t n) override {
    blocks.push_back(std::malloc(n == 0 ? 1 : n));
    return blocks.back();
  }
  std::vector<void*> blocks;
};

template <typename F>
Fault faultOf(F&& f) {
  try {
    f();
  } catch (const Fault& fault) {
    return fault;
  }
  ADD_FAILURE() << "no fault";
  return Fault(0, "");
}

TEST(Encoder, AlignsFromTheStartOfTheStubDataWithZeroPadding) {
  Encoder e;
  e.put<std::uint8_t>(0x01);
  e.put<std::uint32_t>(0x04030201);
  e.put<std::uint16_t>(0x0605);
  e.put<std::uint64_t>(0x0807060504030201);
  std::vector<std::uint8_t> got(e.bytes().begin(), e.bytes().end());
  EXPECT_EQ(got, bytes({0x01, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0,    0,
                        0,    0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}));
}

TEST(Encoder, UniqueReferentIdsCountLikeWindowsAndNullIsZero) {
  Encoder e;
  int a = 0, b = 0;
  EXPECT_TRUE(e.uniqueId(&a));
  EXPECT_FALSE(e.uniqueId(nullptr));
  EXPECT_TRUE(e.uniqueId(&b));
  std::vector<std::uint8_t> got(e.bytes().begin(), e.bytes().end());
  EXPECT_EQ(got, bytes({0, 0, 2, 0, 0, 0, 0, 0, 4, 0, 2, 0}));
}

TEST(Encoder, Enum16RefusesValuesPast32767) {
  Encoder e;
  e.putEnum16(32767, "E");
  EXPECT_EQ(faultOf([&] { e.putEnum16(32768, "E.big"); }).status(), kEnumValueOutOfRange);
}

TEST(Decoder, ReadsBigEndianData) {
  auto data = bytes({0x12, 0x34, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x3f, 0xf0,
                     0,    0,    0, 0, 0,    0,    0x00, 0x01, 0x00, 0x02});
  CountingAllocator heap;
  Decoder d(data, heap, nullptr, FullPointerTable::kRequest, {}, /*bigEndian=*/true);
  EXPECT_EQ(d.get<std::uint16_t>("s"), 0x1234);
  EXPECT_EQ(d.get<std::uint32_t>("l"), 0x12345678u);
  EXPECT_EQ(d.get<double>("d"), 1.0);
  std::uint16_t pair[2];
  d.getArray(pair, 2, "a");
  EXPECT_EQ(pair[0], 1);
  EXPECT_EQ(pair[1], 2);
  d.finish();
}

TEST(Decoder, TruncatedDataNamesTheOffsetTheFieldAndTheBytes) {
  auto data = bytes({1, 0, 0, 0, 2, 0});
  CountingAllocator heap;
  Decoder d(data, heap, nullptr, FullPointerTable::kRequest);
  EXPECT_EQ(d.get<std::uint32_t>("NODE.value"), 1u);
  Fault f = faultOf([&] { d.get<std::uint32_t>("NODE.next"); });
  EXPECT_EQ(f.status(), kBadStubData);
  EXPECT_EQ(std::string(f.what()), "stub data offset 4: NODE.next value needs 4 bytes, 2 left");
}

TEST(Decoder, CountsAreCheckedBeforeAnythingIsAllocated) {
  CountingAllocator heap;
  Limits limits;
  limits.maxElements = 1000;
  // A max_count past the limit.
  auto big = bytes({0xe9, 0x03, 0, 0});
  Decoder d1(big, heap, nullptr, FullPointerTable::kRequest, limits);
  EXPECT_EQ(faultOf([&] { d1.conformance("a"); }).status(), kBadStubData);
  // Elements the bytes left cannot hold: 2^20 two-byte elements in 4 bytes.
  auto small = bytes({0, 0, 0x10, 0, 1, 2, 3, 4});
  Decoder d2(small, heap, nullptr, FullPointerTable::kRequest);
  std::uint32_t n = d2.conformance("b");
  EXPECT_EQ(faultOf([&] { d2.needElements(n, 2, "b"); }).status(), kBadStubData);
  // offset + actual_count past max_count, and a non-zero offset.
  auto varying = bytes({2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0});
  Decoder d3(varying, heap, nullptr, FullPointerTable::kRequest);
  EXPECT_EQ(faultOf([&] { d3.variance(3, 1, "c"); }).status(), kBadStubData);
  Decoder d4(varying, heap, nullptr, FullPointerTable::kRequest);
  d4.get<std::uint32_t>("skip");
  d4.get<std::uint32_t>("skip");
  EXPECT_EQ(faultOf([&] { d4.variance(10, 1, "d"); }).status(), kBadStubData);  // offset 1
  EXPECT_TRUE(heap.blocks.empty());
  // The call's allocation limit.
  limits.maxAllocationBytes = 100;
  Decoder d5(small, heap, nullptr, FullPointerTable::kRequest, limits);
  d5.allocate(60, "e");
  EXPECT_EQ(faultOf([&] { d5.allocate(60, "f"); }).status(), kBadStubData);
  EXPECT_EQ(heap.blocks.size(), 1u);
}

TEST(Decoder, RangeAndCorrelationChecks) {
  auto data = bytes({0});
  CountingAllocator heap;
  Decoder d(data, heap, nullptr, FullPointerTable::kRequest);
  d.checkRange(5, 0, 5, "r");
  EXPECT_EQ(faultOf([&] { d.checkRange(6, 0, 5, "r"); }).status(), kInvalidBound);
  EXPECT_EQ(faultOf([&] { d.expectEqual(3, 4, "size_is"); }).status(), kBadStubData);
  EXPECT_EQ(faultOf([&] { d.getEnum16("e"); }).status(), kBadStubData);  // truncated
  auto e = bytes({0x00, 0x80});
  Decoder de(e, heap, nullptr, FullPointerTable::kRequest);
  EXPECT_EQ(faultOf([&] { de.getEnum16("e"); }).status(), kEnumValueOutOfRange);
}

TEST(Decoder, StringsNeedTheirTerminatorAndFitTheCallersStorage) {
  CountingAllocator heap;
  // "hi" without its terminator.
  auto open = bytes({2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 'h', 0, 'i', 0});
  Decoder d1(open, heap, nullptr, FullPointerTable::kRequest);
  char16_t* s = nullptr;
  EXPECT_EQ(faultOf([&] { pullString(d1, s, "S"); }).status(), kBadStubData);
  // "hey" into the caller's "hi": refused, the caller's string untouched.
  auto longer = bytes({4, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 'h', 0, 'e', 0, 'y', 0, 0, 0});
  Decoder d2(longer, heap, nullptr, FullPointerTable::kRequest);
  char16_t mine[] = u"hi";
  char16_t* slot = mine;
  EXPECT_EQ(faultOf([&] { pullString(d2, slot, "S"); }).status(), kInvalidBound);
  EXPECT_EQ(std::u16string(mine), u"hi");
  // And one that fits comes back in place.
  auto shorter = bytes({2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 'o', 0, 0, 0});
  Decoder d3(shorter, heap, nullptr, FullPointerTable::kRequest);
  pullString(d3, slot, "S");
  EXPECT_EQ(slot, mine);
  EXPECT_EQ(std::u16string(mine), u"o");
}

TEST(Decoder, UnreadBytesAreAnError) {
  auto data = bytes({1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  CountingAllocator heap;
  Decoder d(data, heap, nullptr, FullPointerTable::kRequest);
  d.get<std::uint32_t>("x");
  EXPECT_EQ(faultOf([&] { d.finish(); }).status(), kBadStubData);
}

TEST(FullPointerTable, OneIdPerNodeAndOneReferentPerDirection) {
  FullPointerTable table;
  int a = 0, b = 0;
  bool follows = false;
  std::uint32_t ia = table.marshal(&a, FullPointerTable::kRequest, follows);
  EXPECT_TRUE(follows);
  EXPECT_EQ(table.marshal(&a, FullPointerTable::kRequest, follows), ia);
  EXPECT_FALSE(follows);  // an alias: the ID only
  std::uint32_t ib = table.marshal(&b, FullPointerTable::kRequest, follows);
  EXPECT_NE(ia, ib);
  EXPECT_EQ(table.marshal(&a, FullPointerTable::kReply, follows), ia);
  EXPECT_TRUE(follows);  // the reply sends it again, once
  ASSERT_NE(table.find(ib), nullptr);
  EXPECT_EQ(table.find(ib)->address, &b);
  EXPECT_EQ(table.find(999), nullptr);
}

TEST(Allocators, BumpAlignsToEightAndRefusesWhatDoesNotFit) {
  alignas(8) unsigned char block[32];
  BumpAllocator bump(block, sizeof block);
  void* a = bump.allocate(3);
  void* b = bump.allocate(8);
  EXPECT_EQ(a, block);
  EXPECT_EQ(b, block + 8);
  EXPECT_EQ(bump.allocate(17), nullptr);
  EXPECT_NE(bump.allocate(16), nullptr);
  // A decoder over a full byte_count buffer says so.
  auto data = bytes({0});
  Decoder d(data, bump, nullptr, FullPointerTable::kReply);
  EXPECT_EQ(faultOf([&] { d.allocate(1, "x"); }).status(), kByteCountTooSmall);
}

}  // namespace
}  // namespace warden::ndr
