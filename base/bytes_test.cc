// ByteReader/ByteWriter: byte orders, bounds, alignment relative to the start, sticky failures.
#include "base/bytes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>

namespace warden {
namespace {

using ::testing::HasSubstr;

std::vector<std::byte> bytesOf(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

TEST(ByteReader, ReadsBothByteOrders) {
  auto data = bytesOf({0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xaa});
  ByteReader le(data);
  EXPECT_EQ(*le.u16le(), 0x0201);
  EXPECT_EQ(*le.u16be(), 0x0304);
  EXPECT_EQ(le.offset(), 4u);
  ByteReader r(data);
  EXPECT_EQ(*r.u32le(), 0x04030201u);
  ASSERT_TRUE(r.seek(0).ok());
  EXPECT_EQ(*r.u32be(), 0x01020304u);
  ASSERT_TRUE(r.seek(0).ok());
  EXPECT_EQ(*r.u64le(), 0x0807060504030201ull);
  EXPECT_EQ(*r.u8(), 0xaa);
  EXPECT_TRUE(r.empty());
  ByteReader be(data, 0, Endian::kBig);
  EXPECT_EQ(*be.u64(), 0x0102030405060708ull);
  be.setEndian(Endian::kLittle);
  ASSERT_TRUE(be.seek(1).ok());
  EXPECT_EQ(*be.u16(), 0x0302);
}

TEST(ByteReader, ShortReadNamesOffsetNeededAndAvailable) {
  auto data = bytesOf({1, 2, 3});
  ByteReader r(data, /*base=*/1000);
  ASSERT_TRUE(r.skip(1).ok());
  Result<std::uint32_t> v = r.u32le();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kTruncated);
  EXPECT_EQ(v.status().message(), "need 4 bytes at offset 1001, have 2");
  EXPECT_EQ(r.offset(), 1u) << "a failed read must not move the cursor";
  EXPECT_EQ(r.skip(3).code(), Code::kTruncated);
  EXPECT_EQ(r.bytes(5).status().code(), Code::kTruncated);
  EXPECT_EQ(r.seek(4).code(), Code::kTruncated);
  EXPECT_TRUE(r.seek(3).ok());
  EXPECT_TRUE(r.empty());
}

TEST(ByteReader, HugeLengthsDoNotOverflow) {
  auto data = bytesOf({1, 2, 3, 4});
  ByteReader r(data);
  ASSERT_TRUE(r.skip(2).ok());
  EXPECT_EQ(r.skip(SIZE_MAX).code(), Code::kTruncated);
  EXPECT_EQ(r.bytes(SIZE_MAX - 1).status().code(), Code::kTruncated);
  EXPECT_EQ(r.sub(SIZE_MAX).status().code(), Code::kTruncated);
  EXPECT_EQ(r.offset(), 2u);
}

TEST(ByteReader, AlignsRelativeToTheStartOfTheView) {
  auto data = bytesOf({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
  // A view that starts at an odd address offset still aligns relative to its own start.
  ByteReader r(std::span<const std::byte>(data).subspan(1, 15), 1);
  ASSERT_TRUE(r.skip(1).ok());
  ASSERT_TRUE(r.alignTo(4).ok());
  EXPECT_EQ(r.offset(), 4u);
  EXPECT_EQ(*r.u8(), 5);
  ASSERT_TRUE(r.alignTo(8).ok());
  EXPECT_EQ(r.offset(), 8u);
  ASSERT_TRUE(r.alignTo(8).ok());
  EXPECT_EQ(r.offset(), 8u) << "already aligned: no padding";
  EXPECT_EQ(r.alignTo(3).code(), Code::kInvalidArgument);
  ASSERT_TRUE(r.skip(6).ok());
  EXPECT_EQ(r.alignTo(16).code(), Code::kTruncated) << "padding past the end";
  EXPECT_EQ(r.offset(), 14u);
}

TEST(ByteReader, SubReaderKeepsAbsolutePositions) {
  auto data = bytesOf({9, 9, 0x10, 0x20, 0x30});
  ByteReader r(data, 100);
  ASSERT_TRUE(r.skip(2).ok());
  Result<ByteReader> inner = r.sub(2);
  ASSERT_TRUE(inner.ok());
  EXPECT_EQ(r.offset(), 4u);
  EXPECT_EQ(inner->position(), 102u);
  EXPECT_EQ(*inner->u16be(), 0x1020);
  EXPECT_EQ(inner->u8().status().message(), "need 1 bytes at offset 104, have 0");
}

TEST(ByteReader, BytesAndCopyTo) {
  auto data = bytesOf({1, 2, 3, 4, 5});
  ByteReader r(data);
  auto view = r.bytes(2);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->data(), data.data()) << "views are zero-copy";
  std::array<std::byte, 3> out{};
  ASSERT_TRUE(r.copyTo(out).ok());
  EXPECT_EQ(out[2], std::byte{5});
  EXPECT_TRUE(r.rest().empty());
}

TEST(ByteWriter, WritesBothByteOrdersAndPatches) {
  std::vector<std::byte> out;
  ByteWriter w(out);
  w.u16le(0x0201);
  w.u16be(0x0304);
  w.u32(0);  // placeholder, patched below
  w.u64be(0x05060708090a0b0cull);
  w.patchU32(4, 0xdeadbeef);
  ASSERT_TRUE(w.finish().ok());
  EXPECT_EQ(out, bytesOf({1, 2, 3, 4, 0xef, 0xbe, 0xad, 0xde, 5, 6, 7, 8, 9, 10, 11, 12}));
  ByteReader r(out);
  ASSERT_TRUE(r.skip(4).ok());
  EXPECT_EQ(*r.u32le(), 0xdeadbeefu);
}

TEST(ByteWriter, AlignsRelativeToItsOwnStart) {
  std::vector<std::byte> out = bytesOf({0xff, 0xff, 0xff});  // earlier bytes, not ours
  ByteWriter w(out);
  w.u8(1);
  w.alignTo(4);
  EXPECT_EQ(w.offset(), 4u);
  w.u8(2);
  w.alignTo(8);
  ASSERT_TRUE(w.finish().ok());
  EXPECT_EQ(out.size(), 3u + 8u);
  EXPECT_EQ(out[3 + 4], std::byte{2});
}

TEST(ByteWriter, LimitFailureIsStickyAndNamesTheLimit) {
  std::vector<std::byte> out;
  ByteWriter w(out, /*maxSize=*/6);
  w.u32le(1);
  w.u32le(2);  // would make 8 bytes
  w.u8(3);     // ignored: the writer already failed
  Status s = w.finish();
  EXPECT_EQ(s.code(), Code::kLimitExceeded);
  EXPECT_EQ(s.message(), "write of 4 bytes at offset 4 exceeds the limit of 6 bytes");
  EXPECT_EQ(out.size(), 4u) << "nothing is written after the failure";
}

TEST(ByteWriter, PatchAtTheVeryEndIsAllowed) {
  std::vector<std::byte> out;
  ByteWriter w(out);
  w.u32le(0);
  w.u16le(0);
  w.patchU16(4, 0x0102);
  w.patchU32(2, 0x03040506);
  ASSERT_TRUE(w.finish().ok());
  EXPECT_EQ(out, bytesOf({0, 0, 6, 5, 4, 3}));
  w.patchU32(3, 1);
  EXPECT_EQ(w.finish().code(), Code::kInvalidArgument);
}

TEST(ByteWriter, PatchOutsideWrittenBytesFails) {
  std::vector<std::byte> out;
  ByteWriter w(out);
  w.u16le(7);
  w.patchU32(0, 1);
  EXPECT_EQ(out.size(), 2u) << "nothing written past the end";
  EXPECT_EQ(w.finish().code(), Code::kInvalidArgument);
  EXPECT_THAT(w.finish().message(), HasSubstr("outside the 2 bytes written"));
}

}  // namespace
}  // namespace warden
