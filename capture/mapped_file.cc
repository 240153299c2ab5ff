// MappedFile: open, fstat, mmap, and clear errors for the cases users meet (missing, a directory).
#include "capture/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace warden::capture {

Result<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFoundError("{}: no such file", path);
    return IoError("{}: cannot open: {}", path, std::strerror(errno));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return IoError("{}: cannot stat: {}", path, std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgumentError("{}: not a regular file", path);
  }
  auto size = static_cast<std::size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return MappedFile(nullptr, 0);
  }
  void* data = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int err = errno;
  ::close(fd);
  if (data == MAP_FAILED)
    return IoError("{}: cannot map {} bytes: {}", path, size, std::strerror(err));
  // Frames are read front to back by most users; let the kernel read ahead generously.
  madvise(data, size, MADV_SEQUENTIAL);
  return MappedFile(static_cast<const std::byte*>(data), size);
}

void MappedFile::release(std::size_t from, std::size_t to) const {
  static const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  to = std::min(to, size_);
  std::size_t first = (from + page - 1) / page * page;  // whole pages only: inward
  std::size_t last = to / page * page;
  if (data_ == nullptr || first >= last) return;
  // The mapping is read-only and private: no page was ever copied, so MADV_DONTNEED refills from
  // the file. A refusal only costs memory.
  (void)madvise(const_cast<std::byte*>(data_) + first, last - first, MADV_DONTNEED);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    unmap();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() { unmap(); }

void MappedFile::unmap() {
  if (data_ != nullptr) munmap(const_cast<std::byte*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace warden::capture
