// MappedFile: a whole file mapped read-only, so captures are indexed and read in place (zero copy).
// An empty file maps to an empty view. The descriptor is closed once the mapping exists.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "base/status.h"

namespace warden::capture {

class MappedFile {
 public:
  static Result<MappedFile> open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  std::size_t size() const { return size_; }
  // Drops the process's page mappings of the whole pages inside [from, to): resident memory falls,
  // the bytes stay valid (a later read maps them again from the page cache). Readers call it
  // behind them so a large capture does not stay resident as a whole.
  void release(std::size_t from, std::size_t to) const;

 private:
  MappedFile(const std::byte* data, std::size_t size) : data_(data), size_(size) {}
  void unmap();

  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace warden::capture
