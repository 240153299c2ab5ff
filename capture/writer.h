// Capture writers: pcap (microsecond or nanosecond) and pcapng (nanosecond interfaces, per-frame
// comments). Both write through a buffer to a file descriptor they own; fd() lets an owner register
// the descriptor with its ledger, and close() reports a failed final write.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace warden::capture {

struct OutputFrame {
  std::int64_t timestampNs = 0;
  std::uint32_t wireLength = 0;  // 0: same as bytes.size()
  std::span<const std::byte> bytes;
  std::uint32_t interface = 0;  // pcapng: an id from addInterface()
  std::string_view comment;     // pcapng: written as opt_comment
  // The bytes stay valid until the writer is closed (a mapped capture's frames): they are copied
  // into the file's buffer by its writer thread, not by the caller.
  bool stable = false;
};

// A file written through a buffer.
class FileOutput {
 public:
  static Result<FileOutput> create(const std::string& path);
  FileOutput(FileOutput&& other) noexcept;
  FileOutput& operator=(FileOutput&& other) noexcept;
  FileOutput(const FileOutput&) = delete;
  FileOutput& operator=(const FileOutput&) = delete;
  // Closes without reporting; call close() to learn whether the data reached the file.
  ~FileOutput();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  std::vector<std::byte>& buffer() { return buffer_; }
  // Queues `bytes` (valid until close()) after what the buffer holds now.
  void borrow(std::span<const std::byte> bytes);
  std::uint64_t bytesWritten() const { return written_ + buffer_.size() + borrowedBytes_; }
  // How many of those bytes have reached the file (or failed to): borrowed spans before this
  // offset are no longer read.
  std::uint64_t bytesDone() const;
  // Once the buffer holds more than a megabyte, hands it to a thread of the FileOutput's own that
  // writes it while the caller fills the next one (a large output's write() calls cost as much as
  // building it). A failed write is reported by the next flushIfFull(), flush() or close().
  Status flushIfFull() {
    return buffer_.size() + borrowedBytes_ >= (1u << 20) ? handOff() : Status();
  }
  // Writes everything out now (after what the thread still writes).
  Status flush();
  Status close();

 private:
  struct Background;
  FileOutput(int fd, std::string path);
  Status handOff();
  Status drain();  // waits for the thread's write; its error, if any
  void stopBackground();
  int fd_ = -1;
  std::string path_;
  // A borrowed span, written after buffer_[0, after).
  struct Borrowed {
    std::size_t after;
    std::span<const std::byte> bytes;
  };
  // The buffer with the borrowed spans in their places.
  static void gather(std::vector<std::byte>& own, const std::vector<Borrowed>& borrowed,
                     std::vector<std::byte>& out);
  std::vector<std::byte> buffer_;
  std::vector<Borrowed> borrowed_;
  std::size_t borrowedBytes_ = 0;
  std::uint64_t written_ = 0;      // handed off or written
  std::uint64_t writtenHere_ = 0;  // written by flush() on the caller's thread
  std::unique_ptr<Background> background_;
};

class PcapWriter {
 public:
  static Result<PcapWriter> create(const std::string& path, std::uint16_t linkType,
                                   std::uint32_t snaplen = 262144, bool nanoseconds = true);
  Status write(const OutputFrame& frame);
  Status close() { return out_.close(); }
  int fd() const { return out_.fd(); }
  std::uint64_t bytesWritten() const { return out_.bytesWritten(); }
  std::uint64_t bytesDone() const { return out_.bytesDone(); }

 private:
  PcapWriter(FileOutput out, bool nanoseconds) : out_(std::move(out)), nanoseconds_(nanoseconds) {}
  FileOutput out_;
  bool nanoseconds_;
};

class PcapngWriter {
 public:
  // Writes the section header (shb_userappl = `application`).
  static Result<PcapngWriter> create(const std::string& path,
                                     std::string_view application = "warden");
  // An interface with nanosecond timestamps; returns its id for OutputFrame::interface.
  Result<std::uint32_t> addInterface(std::uint16_t linkType, std::uint32_t snaplen = 262144,
                                     std::string_view name = {});
  Status write(const OutputFrame& frame);
  Status close() { return out_.close(); }
  int fd() const { return out_.fd(); }
  std::uint64_t bytesWritten() const { return out_.bytesWritten(); }
  std::uint64_t bytesDone() const { return out_.bytesDone(); }

 private:
  explicit PcapngWriter(FileOutput out) : out_(std::move(out)) {}
  FileOutput out_;
  std::uint32_t interfaces_ = 0;
};

}  // namespace warden::capture
