// Capture writers: file output with short-write handling, pcap records, pcapng blocks.
#include "capture/writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "base/bytes.h"

namespace warden::capture {

namespace {

Status writeAll(int fd, std::span<const std::byte> data, const std::string& path,
                std::uint64_t at) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("{}: write of {} bytes at offset {} failed: {}", path, data.size() - done,
                     at + done, std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  return Status();
}

}  // namespace

// Buffers written by `thread` in order while the producer fills the next. Up to kDepth wait: a
// producer that outpaces the file system for a moment (ext4's buffered writes cost about as much
// as building the data) goes on instead of waiting for each write. Buffers are reused.
struct FileOutput::Background {
  static constexpr std::size_t kDepth = 8;
  struct Job {
    std::vector<std::byte> own;
    std::vector<FileOutput::Borrowed> borrowed;  // spans to gather into it first
    std::uint64_t at = 0;                        // its file offset
  };
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<Job> queue;  // the front one is being written
  std::vector<Job> spare;
  std::atomic<std::uint64_t> done{0};  // file offset the thread has written up to
  bool quit = false;
  Status error;  // the first failed write
  std::thread thread;
};

Result<FileOutput> FileOutput::create(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return IoError("{}: cannot create: {}", path, std::strerror(errno));
  return FileOutput(fd, path);
}

FileOutput::FileOutput(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

FileOutput::FileOutput(FileOutput&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      buffer_(std::move(other.buffer_)),
      borrowed_(std::move(other.borrowed_)),
      borrowedBytes_(std::exchange(other.borrowedBytes_, 0)),
      written_(other.written_),
      writtenHere_(other.writtenHere_),
      background_(std::move(other.background_)) {}

FileOutput& FileOutput::operator=(FileOutput&& other) noexcept {
  if (this != &other) {
    stopBackground();
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    buffer_ = std::move(other.buffer_);
    borrowed_ = std::move(other.borrowed_);
    borrowedBytes_ = std::exchange(other.borrowedBytes_, 0);
    written_ = other.written_;
    writtenHere_ = other.writtenHere_;
    background_ = std::move(other.background_);
  }
  return *this;
}

FileOutput::~FileOutput() {
  stopBackground();
  if (fd_ >= 0) ::close(fd_);
}

void FileOutput::stopBackground() {
  if (!background_) return;
  {
    std::lock_guard lock(background_->mutex);
    background_->quit = true;
  }
  background_->changed.notify_all();
  background_->thread.join();
  background_.reset();
}

Status FileOutput::handOff() {
  if (fd_ < 0) return InvalidArgumentError("{}: already closed", path_);
  if (!background_) {
    background_ = std::make_unique<Background>();
    Background* b = background_.get();
    const int fd = fd_;
    b->thread = std::thread([b, fd, path = path_] {
      std::vector<std::byte> gathered;
      std::unique_lock lock(b->mutex);
      for (;;) {
        b->changed.wait(lock, [b] { return !b->queue.empty() || b->quit; });
        if (b->queue.empty()) return;  // quit, nothing left to write
        Background::Job& job = b->queue.front();
        lock.unlock();
        Status s;
        if (b->error.ok()) {
          if (job.borrowed.empty()) {
            s = writeAll(fd, job.own, path, job.at);
          } else {
            gather(job.own, job.borrowed, gathered);
            s = writeAll(fd, gathered, path, job.at);
          }
        }
        std::uint64_t size = job.own.size();
        for (const Borrowed& span : job.borrowed) size += span.bytes.size();
        b->done.store(job.at + size, std::memory_order_release);
        lock.lock();
        if (!s.ok()) b->error = std::move(s);
        job.own.clear();
        job.borrowed.clear();
        b->spare.push_back(std::move(job));
        b->queue.pop_front();
        b->changed.notify_all();
      }
    });
  }
  std::uint64_t handed = buffer_.size() + borrowedBytes_;
  {
    std::unique_lock lock(background_->mutex);
    Background& b = *background_;
    b.changed.wait(lock, [&] { return b.queue.size() < Background::kDepth; });
    if (!b.error.ok()) return b.error;
    Background::Job job;
    if (!b.spare.empty()) {
      job = std::move(b.spare.back());
      b.spare.pop_back();
    }
    std::swap(job.own, buffer_);
    std::swap(job.borrowed, borrowed_);
    job.at = written_;
    b.queue.push_back(std::move(job));
  }
  background_->changed.notify_all();
  written_ += handed;  // the thread only reads them
  buffer_.clear();
  borrowed_.clear();
  borrowedBytes_ = 0;
  return Status();
}

void FileOutput::borrow(std::span<const std::byte> bytes) {
  if (bytes.empty()) return;
  borrowed_.push_back({buffer_.size(), bytes});
  borrowedBytes_ += bytes.size();
}

void FileOutput::gather(std::vector<std::byte>& own, const std::vector<Borrowed>& borrowed,
                        std::vector<std::byte>& out) {
  out.clear();
  std::size_t from = 0;
  for (const Borrowed& b : borrowed) {
    out.insert(out.end(), own.begin() + static_cast<std::ptrdiff_t>(from),
               own.begin() + static_cast<std::ptrdiff_t>(b.after));
    out.insert(out.end(), b.bytes.begin(), b.bytes.end());
    from = b.after;
  }
  out.insert(out.end(), own.begin() + static_cast<std::ptrdiff_t>(from), own.end());
}

Status FileOutput::drain() {
  if (!background_) return Status();
  std::unique_lock lock(background_->mutex);
  background_->changed.wait(lock, [&] { return background_->queue.empty(); });
  return background_->error;
}

std::uint64_t FileOutput::bytesDone() const {
  std::uint64_t thread = background_ ? background_->done.load(std::memory_order_acquire) : 0;
  return std::max(thread, writtenHere_);
}

Status FileOutput::flush() {
  if (fd_ < 0) return InvalidArgumentError("{}: already closed", path_);
  WARDEN_TRY(drain());
  if (!borrowed_.empty()) {
    std::vector<std::byte> gathered;
    gather(buffer_, borrowed_, gathered);
    buffer_.swap(gathered);
    borrowed_.clear();
    borrowedBytes_ = 0;
  }
  WARDEN_TRY(writeAll(fd_, buffer_, path_, written_));
  written_ += buffer_.size();
  writtenHere_ = written_;
  buffer_.clear();
  return Status();
}

Status FileOutput::close() {
  if (fd_ < 0) return Status();
  Status flushed = flush();
  stopBackground();
  int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0 && flushed.ok() && errno != EINTR) {
    return IoError("{}: close failed: {}", path_, std::strerror(errno));
  }
  return flushed;
}

namespace {

void storeLe32(std::byte* at, std::uint32_t v) {
  if constexpr (kHostEndian != Endian::kLittle) v = byteSwap(v);
  std::memcpy(at, &v, 4);
}
void storeLe16(std::byte* at, std::uint16_t v) {
  if constexpr (kHostEndian != Endian::kLittle) v = byteSwap(v);
  std::memcpy(at, &v, 2);
}

std::uint32_t wireLengthOf(const OutputFrame& frame) {
  return frame.wireLength != 0 ? frame.wireLength : static_cast<std::uint32_t>(frame.bytes.size());
}

// Floor division, so frames before 1970 still get a non-negative fraction.
std::pair<std::int64_t, std::int64_t> splitNanoseconds(std::int64_t ns) {
  std::int64_t seconds = ns / 1'000'000'000;
  std::int64_t fraction = ns % 1'000'000'000;
  if (fraction < 0) {
    fraction += 1'000'000'000;
    --seconds;
  }
  return {seconds, fraction};
}

// Writes one pcapng block: type, total length, body (written by `body`), total length again.
template <typename Body>
Status writeBlock(FileOutput& out, std::uint32_t type, Body&& body) {
  ByteWriter w(out.buffer());
  w.u32le(type);
  w.u32le(0);  // patched below
  body(w);
  w.alignTo(4);
  w.u32le(0);
  auto length = static_cast<std::uint32_t>(w.offset());
  w.patch<std::uint32_t>(4, length, Endian::kLittle);
  w.patch<std::uint32_t>(length - 4, length, Endian::kLittle);
  WARDEN_TRY(w.finish());
  return out.flushIfFull();
}

void option(ByteWriter& w, std::uint16_t code, std::span<const std::byte> value) {
  w.u16le(code);
  w.u16le(static_cast<std::uint16_t>(value.size()));
  w.bytes(value);
  w.alignTo(4);
}
void option(ByteWriter& w, std::uint16_t code, std::string_view text) {
  option(w, code, std::as_bytes(std::span(text.data(), text.size())));
}

}  // namespace

Result<PcapWriter> PcapWriter::create(const std::string& path, std::uint16_t linkType,
                                      std::uint32_t snaplen, bool nanoseconds) {
  WARDEN_ASSIGN_OR_RETURN(FileOutput out, FileOutput::create(path));
  ByteWriter w(out.buffer());
  w.u32le(nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4);
  w.u16le(2);
  w.u16le(4);
  w.u32le(0);  // thiszone
  w.u32le(0);  // sigfigs
  w.u32le(snaplen);
  w.u32le(linkType);
  WARDEN_TRY(w.finish());
  return PcapWriter(std::move(out), nanoseconds);
}

Status PcapWriter::write(const OutputFrame& frame) {
  auto [seconds, fraction] = splitNanoseconds(frame.timestampNs);
  if (seconds < 0 || seconds > UINT32_MAX) {
    return InvalidArgumentError("{}: timestamp {} ns does not fit a pcap record", out_.path(),
                                frame.timestampNs);
  }
  if (frame.bytes.size() > UINT32_MAX) {
    return InvalidArgumentError("{}: a frame of {} bytes does not fit a record", out_.path(),
                                frame.bytes.size());
  }
  std::byte head[16];
  storeLe32(head, static_cast<std::uint32_t>(seconds));
  storeLe32(head + 4, static_cast<std::uint32_t>(nanoseconds_ ? fraction : fraction / 1000));
  storeLe32(head + 8, static_cast<std::uint32_t>(frame.bytes.size()));
  storeLe32(head + 12, wireLengthOf(frame));
  std::vector<std::byte>& buffer = out_.buffer();
  buffer.insert(buffer.end(), head, head + sizeof head);
  if (frame.stable) {
    out_.borrow(frame.bytes);
  } else {
    buffer.insert(buffer.end(), frame.bytes.begin(), frame.bytes.end());
  }
  return out_.flushIfFull();
}

Result<PcapngWriter> PcapngWriter::create(const std::string& path, std::string_view application) {
  WARDEN_ASSIGN_OR_RETURN(FileOutput out, FileOutput::create(path));
  WARDEN_TRY(writeBlock(out, 0x0a0d0d0a, [&](ByteWriter& w) {
    w.u32le(0x1a2b3c4d);
    w.u16le(1);
    w.u16le(0);
    w.u64le(~std::uint64_t{0});  // section length not given
    option(w, 4, application);   // shb_userappl
    w.u32le(0);                  // opt_endofopt
  }));
  return PcapngWriter(std::move(out));
}

Result<std::uint32_t> PcapngWriter::addInterface(std::uint16_t linkType, std::uint32_t snaplen,
                                                 std::string_view name) {
  WARDEN_TRY(writeBlock(out_, 1, [&](ByteWriter& w) {
    w.u16le(linkType);
    w.u16le(0);
    w.u32le(snaplen);
    if (!name.empty()) option(w, 2, name);  // if_name
    const std::byte nanoseconds[] = {std::byte{9}};
    option(w, 9, nanoseconds);  // if_tsresol: 10^-9
    w.u32le(0);
  }));
  return interfaces_++;
}

Status PcapngWriter::write(const OutputFrame& frame) {
  if (frame.interface >= interfaces_) {
    return InvalidArgumentError("{}: frame for interface {}, but {} were added", out_.path(),
                                frame.interface, interfaces_);
  }
  if (frame.comment.size() > 0xffff) {
    return InvalidArgumentError("{}: a comment of {} bytes does not fit one option", out_.path(),
                                frame.comment.size());
  }
  // The hot path of a large output: the block's size is known up front.
  const std::size_t size = frame.bytes.size();
  if (size > UINT32_MAX - 1024) {
    return InvalidArgumentError("{}: a frame of {} bytes does not fit a block", out_.path(), size);
  }
  const std::size_t padded = (size + 3) & ~std::size_t{3};
  const std::size_t comment = frame.comment.size();
  const std::size_t options = comment == 0 ? 0 : 4 + ((comment + 3) & ~std::size_t{3}) + 4;
  const auto length = static_cast<std::uint32_t>(28 + padded + options + 4);
  // Appended piece by piece: resize() would zero the frame's bytes before copying them.
  std::vector<std::byte>& buffer = out_.buffer();
  const auto units = static_cast<std::uint64_t>(frame.timestampNs);
  std::byte head[28];
  storeLe32(head, 6);
  storeLe32(head + 4, length);
  storeLe32(head + 8, frame.interface);
  storeLe32(head + 12, static_cast<std::uint32_t>(units >> 32));
  storeLe32(head + 16, static_cast<std::uint32_t>(units));
  storeLe32(head + 20, static_cast<std::uint32_t>(size));
  storeLe32(head + 24, wireLengthOf(frame));
  buffer.insert(buffer.end(), head, head + sizeof head);
  if (frame.stable) {
    out_.borrow(frame.bytes);
  } else {
    buffer.insert(buffer.end(), frame.bytes.begin(), frame.bytes.end());
  }
  static constexpr std::byte kZeros[4]{};
  buffer.insert(buffer.end(), kZeros, kZeros + (padded - size));
  if (comment != 0) {
    std::byte option[4];
    storeLe16(option, 1);  // opt_comment
    storeLe16(option + 2, static_cast<std::uint16_t>(comment));
    buffer.insert(buffer.end(), option, option + 4);
    const auto* text = reinterpret_cast<const std::byte*>(frame.comment.data());
    buffer.insert(buffer.end(), text, text + comment);
    buffer.insert(buffer.end(), kZeros, kZeros + (((comment + 3) & ~std::size_t{3}) - comment));
    buffer.insert(buffer.end(), kZeros, kZeros + 4);  // opt_endofopt
  }
  std::byte trailer[4];
  storeLe32(trailer, length);
  buffer.insert(buffer.end(), trailer, trailer + 4);
  return out_.flushIfFull();
}

}  // namespace warden::capture
