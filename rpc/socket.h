// Stream sockets for the ncacn_ip_tcp and ncalrpc (AF_UNIX) transports: whole reads and writes
// with a timeout, listeners, and the peer's credentials. Errors name the address and errno.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace warden::rpc {

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket();
  Socket(Socket&& other) noexcept
      : fd_(other.release()),
        buffer_(std::move(other.buffer_)),
        begin_(other.begin_),
        end_(other.end_),
        spinEnabled_(other.spinEnabled_) {}
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Fills `out` or fails: kDisconnected when the peer closed (at a message boundary when
  // nothing was read), kCancelled when the timeout passed, kIoError otherwise. Reads are
  // buffered: one recv usually brings a whole PDU, and the wait (poll) happens only when
  // nothing has arrived yet.
  Status readExactly(std::span<std::byte> out, std::chrono::milliseconds timeout);
  Status writeAll(std::span<const std::byte> data);
  // No more reads (a blocked read returns end of stream); writes still go out.
  void shutdownRead();
  void shutdownWrite();
  void shutdownBoth();
  // Reads and discards what the peer still sends until it closes or `timeout` passes: a closing
  // side that has unread bytes would otherwise reset the connection, and the peer could lose the
  // last PDU it was sent.
  void drain(std::chrono::milliseconds timeout);
  // Reads that find nothing wait on the CPU for up to kSpin before blocking in poll() (see
  // readExactly); off for sockets that mostly wait long (listeners, idle connections).
  void setSpin(bool on) { spinEnabled_ = on; }

 private:
  static constexpr std::size_t kBufferBytes = 64 * 1024;
  static constexpr std::chrono::microseconds kSpin{50};
  bool spin();           // whether this wait may spin
  void spun(bool paid);  // whether the spin found data
  int fd_ = -1;
  std::vector<std::byte> buffer_;  // bytes received and not yet read: [begin_, end_)
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool spinEnabled_ = false;
  std::uint32_t spinBackoff_ = 0;  // waits left before spinning again
  std::uint32_t spinPenalty_ = 0;
};

// ncacn_ip_tcp: IPv4 or IPv6 `host` (a literal or a name), `port`.
Result<Socket> connectTcp(std::string_view host, std::uint16_t port,
                          std::chrono::milliseconds timeout);
// A listening TCP socket on `host`:`port` (port 0 picks one; localPort() tells which).
Result<Socket> listenTcp(std::string_view host, std::uint16_t port);
Result<std::uint16_t> localPort(const Socket& s);

// ncalrpc: an AF_UNIX stream socket at `path`.
Result<Socket> connectUnix(const std::string& path, std::chrono::milliseconds timeout);
// Listens at `path` (replacing a stale socket file) with file mode 0600.
Result<Socket> listenUnix(const std::string& path);
// The connected peer's user ID (SO_PEERCRED).
Result<std::uint32_t> peerUid(const Socket& s);

// The socket file of ncalrpc endpoint `name`: `name` itself when it holds a '/', else under
// $XDG_RUNTIME_DIR/warden-rpc/ (or /tmp/warden-rpc-<uid>/), created with mode 0700.
Result<std::string> lrpcPath(std::string_view name);

}  // namespace warden::rpc
