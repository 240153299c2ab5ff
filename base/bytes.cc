// The bounds checks and error messages of ByteReader and ByteWriter.
#include "base/bytes.h"

namespace warden {
namespace {

bool isPowerOfTwo(std::size_t n) { return n != 0 && (n & (n - 1)) == 0; }

}  // namespace

Status ByteReader::shortRead(std::size_t needed, SourceLocation where) const {
  return Status(Code::kTruncated,
                fmt::format("need {} bytes at offset {}, have {}", needed, position(), remaining()),
                where);
}

Result<std::span<const std::byte>> ByteReader::bytes(std::size_t n) {
  if (remaining() < n) return shortRead(n);
  auto view = data_.subspan(pos_, n);
  pos_ += n;
  return view;
}

Status ByteReader::copyTo(std::span<std::byte> out) {
  if (remaining() < out.size()) return shortRead(out.size());
  if (!out.empty()) std::memcpy(out.data(), data_.data() + pos_, out.size());
  pos_ += out.size();
  return Status();
}

Status ByteReader::skip(std::size_t n) {
  if (remaining() < n) return shortRead(n);
  pos_ += n;
  return Status();
}

Status ByteReader::seek(std::size_t offset) {
  if (offset > data_.size()) {
    return TruncatedError("seek to offset {} past the end at {}", base_ + offset,
                          base_ + data_.size());
  }
  pos_ = offset;
  return Status();
}

Status ByteReader::alignTo(std::size_t alignment) {
  if (!isPowerOfTwo(alignment)) {
    return InvalidArgumentError("alignment {} is not a power of two", alignment);
  }
  std::size_t pad = (alignment - (pos_ & (alignment - 1))) & (alignment - 1);
  return skip(pad);
}

Result<ByteReader> ByteReader::sub(std::size_t n) {
  if (remaining() < n) return shortRead(n);
  ByteReader inner(data_.subspan(pos_, n), base_ + pos_, endian_);
  pos_ += n;
  return inner;
}

bool ByteWriter::reserveFor(std::size_t n) {
  if (failed()) return false;
  if (n > max_ - std::min(max_, offset())) {
    status_ = LimitExceededError("write of {} bytes at offset {} exceeds the limit of {} bytes", n,
                                 offset(), max_);
    return false;
  }
  return true;
}

void ByteWriter::bytes(std::span<const std::byte> data) {
  if (!reserveFor(data.size())) return;
  out_.insert(out_.end(), data.begin(), data.end());
}

void ByteWriter::zeros(std::size_t n) {
  if (!reserveFor(n)) return;
  out_.resize(out_.size() + n, std::byte{0});
}

void ByteWriter::alignTo(std::size_t alignment) {
  if (failed()) return;
  if (!isPowerOfTwo(alignment)) {
    status_ = InvalidArgumentError("alignment {} is not a power of two", alignment);
    return;
  }
  zeros((alignment - (offset() & (alignment - 1))) & (alignment - 1));
}

void ByteWriter::patchOutOfRange(std::size_t offset, std::size_t width) {
  status_ = InvalidArgumentError("patch of {} bytes at offset {} is outside the {} bytes written",
                                 width, offset, this->offset());
}

}  // namespace warden
