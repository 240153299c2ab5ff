// ByteReader and ByteWriter: every wire and file access in Warden goes through these.
// Reads are bounded and say where they failed (offset, needed, available); writes are bounded by a
// maximum size and keep their first failure (sticky) so straight-line marshalling stays readable.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "base/status.h"

namespace warden {

enum class Endian : std::uint8_t { kLittle, kBig };

inline constexpr Endian kHostEndian =
    std::endian::native == std::endian::little ? Endian::kLittle : Endian::kBig;

// Byte-swaps an unsigned integer of 1, 2, 4 or 8 bytes.
template <typename T>
constexpr T byteSwap(T v) {
  static_assert(std::is_unsigned_v<T>);
  if constexpr (sizeof(T) == 1) {
    return v;
  } else if constexpr (sizeof(T) == 2) {
    return __builtin_bswap16(v);
  } else if constexpr (sizeof(T) == 4) {
    return __builtin_bswap32(v);
  } else {
    static_assert(sizeof(T) == 8);
    return __builtin_bswap64(v);
  }
}

// A bounded cursor over bytes it does not own. Offsets in errors are `base + offset`, so a reader
// over one record of a file reports file offsets. Alignment is relative to the start of the view
// (NDR aligns relative to the start of the stub data).
class ByteReader {
 public:
  explicit ByteReader(std::span<const std::byte> data, std::uint64_t base = 0,
                      Endian endian = Endian::kLittle)
      : data_(data), base_(base), endian_(endian) {}
  ByteReader(const void* data, std::size_t size, std::uint64_t base = 0,
             Endian endian = Endian::kLittle)
      : ByteReader(std::span(static_cast<const std::byte*>(data), size), base, endian) {}

  std::size_t offset() const { return pos_; }
  std::size_t size() const { return data_.size(); }
  std::size_t remaining() const { return data_.size() - pos_; }
  bool empty() const { return pos_ == data_.size(); }
  // Absolute position (base + offset), the number errors print.
  std::uint64_t position() const { return base_ + pos_; }
  Endian endian() const { return endian_; }
  void setEndian(Endian endian) { endian_ = endian; }

  // Reads in the reader's current byte order.
  Result<std::uint8_t> u8() { return read<std::uint8_t>(endian_); }
  Result<std::uint16_t> u16() { return read<std::uint16_t>(endian_); }
  Result<std::uint32_t> u32() { return read<std::uint32_t>(endian_); }
  Result<std::uint64_t> u64() { return read<std::uint64_t>(endian_); }
  // Reads in a fixed byte order.
  Result<std::uint16_t> u16le() { return read<std::uint16_t>(Endian::kLittle); }
  Result<std::uint32_t> u32le() { return read<std::uint32_t>(Endian::kLittle); }
  Result<std::uint64_t> u64le() { return read<std::uint64_t>(Endian::kLittle); }
  Result<std::uint16_t> u16be() { return read<std::uint16_t>(Endian::kBig); }
  Result<std::uint32_t> u32be() { return read<std::uint32_t>(Endian::kBig); }
  Result<std::uint64_t> u64be() { return read<std::uint64_t>(Endian::kBig); }

  template <typename T>
  Result<T> read(Endian endian) {
    static_assert(std::is_unsigned_v<T>);
    if (remaining() < sizeof(T)) return shortRead(sizeof(T));
    T v;
    std::memcpy(&v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return endian == kHostEndian ? v : byteSwap(v);
  }

  // The next n bytes as a view into the same buffer.
  Result<std::span<const std::byte>> bytes(std::size_t n);
  // Copies the next out.size() bytes.
  Status copyTo(std::span<std::byte> out);
  Status skip(std::size_t n);
  // Moves to an offset within the view (0..size()).
  Status seek(std::size_t offset);
  // Skips to the next multiple of `alignment` (a power of two) from the start of the view.
  Status alignTo(std::size_t alignment);
  // A reader over the next n bytes (same endianness, base continues); this reader skips them.
  Result<ByteReader> sub(std::size_t n);
  // The bytes not read yet, without consuming them.
  std::span<const std::byte> rest() const { return data_.subspan(pos_); }

 private:
  Status shortRead(std::size_t needed, SourceLocation where = SourceLocation::current()) const;

  std::span<const std::byte> data_;
  std::size_t pos_ = 0;
  std::uint64_t base_ = 0;
  Endian endian_ = Endian::kLittle;
};

// Appends to a byte vector it does not own, up to `maxSize` bytes in all. The first failure is kept
// and later writes do nothing; finish() reports it. patch*() rewrites earlier bytes (lengths).
class ByteWriter {
 public:
  static constexpr std::size_t kNoLimit = std::numeric_limits<std::size_t>::max();

  explicit ByteWriter(std::vector<std::byte>& out, std::size_t maxSize = kNoLimit,
                      Endian endian = Endian::kLittle)
      : out_(out), start_(out.size()), max_(maxSize), endian_(endian) {}

  // Bytes written through this writer (the vector may hold earlier bytes before start).
  std::size_t offset() const { return out_.size() - start_; }
  Endian endian() const { return endian_; }
  void setEndian(Endian endian) { endian_ = endian; }
  bool failed() const { return !status_.ok(); }
  const Status& status() const { return status_; }
  // The first failure, or ok.
  Status finish() const { return status_; }

  void u8(std::uint8_t v) { write(v, endian_); }
  void u16(std::uint16_t v) { write(v, endian_); }
  void u32(std::uint32_t v) { write(v, endian_); }
  void u64(std::uint64_t v) { write(v, endian_); }
  void u16le(std::uint16_t v) { write(v, Endian::kLittle); }
  void u32le(std::uint32_t v) { write(v, Endian::kLittle); }
  void u64le(std::uint64_t v) { write(v, Endian::kLittle); }
  void u16be(std::uint16_t v) { write(v, Endian::kBig); }
  void u32be(std::uint32_t v) { write(v, Endian::kBig); }
  void u64be(std::uint64_t v) { write(v, Endian::kBig); }

  template <typename T>
  void write(T v, Endian endian) {
    static_assert(std::is_unsigned_v<T>);
    if (endian != kHostEndian) v = byteSwap(v);
    bytes(std::as_bytes(std::span(&v, 1)));
  }

  void bytes(std::span<const std::byte> data);
  void bytes(std::string_view text) { bytes(std::as_bytes(std::span(text.data(), text.size()))); }
  void zeros(std::size_t n);
  // Pads with zeros to the next multiple of `alignment` (a power of two) from this writer's start.
  void alignTo(std::size_t alignment);
  // Rewrites sizeof(T) bytes at `offset` (relative to this writer's start).
  template <typename T>
  void patch(std::size_t offset, T v, Endian endian) {
    static_assert(std::is_unsigned_v<T>);
    if (failed()) return;
    if (sizeof(T) > this->offset() || offset > this->offset() - sizeof(T)) {
      return patchOutOfRange(offset, sizeof(T));
    }
    if (endian != kHostEndian) v = byteSwap(v);
    std::memcpy(out_.data() + start_ + offset, &v, sizeof(T));
  }
  void patchU32(std::size_t offset, std::uint32_t v) { patch(offset, v, endian_); }
  void patchU16(std::size_t offset, std::uint16_t v) { patch(offset, v, endian_); }

 private:
  bool reserveFor(std::size_t n);
  void patchOutOfRange(std::size_t offset, std::size_t width);

  std::vector<std::byte>& out_;
  std::size_t start_;
  std::size_t max_;
  Endian endian_;
  Status status_;
};

}  // namespace warden
