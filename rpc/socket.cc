// POSIX stream sockets. Reads wait with poll() so a call has a deadline; SIGPIPE is avoided with
// MSG_NOSIGNAL.
#include "rpc/socket.h"

#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace warden::rpc {

namespace {

Status ioError(std::string_view what) {
  return Status(Code::kIoError, fmt::format("{}: {}", what, std::strerror(errno)));
}

Result<sockaddr_un> unixAddress(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) {
    return Status(
        Code::kInvalidArgument,
        fmt::format("ncalrpc socket path {} is longer than {} bytes", path, sizeof a.sun_path - 1));
  }
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

void noDelay(int fd) {
  int one = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace

Socket::~Socket() {
  if (fd_ >= 0) ::close(fd_);
}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
    buffer_ = std::move(other.buffer_);
    begin_ = other.begin_;
    end_ = other.end_;
    spinEnabled_ = other.spinEnabled_;
  }
  return *this;
}

bool Socket::spin() {
  if (!spinEnabled_) return false;
  if (spinBackoff_ == 0) return true;
  --spinBackoff_;
  return false;
}

void Socket::spun(bool paid) {
  if (paid) {
    spinPenalty_ = 0;
  } else {
    spinPenalty_ = std::min<std::uint32_t>(spinPenalty_ == 0 ? 16 : spinPenalty_ * 2, 4096);
    spinBackoff_ = spinPenalty_;
  }
}

Status Socket::readExactly(std::span<std::byte> out, std::chrono::milliseconds timeout) {
  std::size_t done = 0;
  while (done < out.size()) {
    if (begin_ < end_) {
      const std::size_t n = std::min(end_ - begin_, out.size() - done);
      std::memcpy(out.data() + done, buffer_.data() + begin_, n);
      begin_ += n;
      done += n;
      continue;
    }
    if (buffer_.empty()) buffer_.resize(kBufferBytes);
    begin_ = end_ = 0;
    // A large read goes straight into `out`; a small one fills the buffer for the next reads.
    const bool direct = out.size() - done >= kBufferBytes;
    std::byte* into = direct ? out.data() + done : buffer_.data();
    const std::size_t room = direct ? out.size() - done : buffer_.size();
    ssize_t n = ::recv(fd_, into, room, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && spin()) {
      // A reply on a quiet machine comes back in microseconds, and a blocked thread's wake-up
      // costs more than that: wait on the CPU for a moment first. Only while it pays (a wait
      // that found nothing backs off for a while, longer each time), and no more at once than
      // half the cores, so the other half always runs the threads that have work.
      static std::atomic<unsigned> spinning{0};
      static const unsigned maxSpinning = std::max(1u, std::thread::hardware_concurrency() / 2);
      if (spinning.fetch_add(1, std::memory_order_relaxed) < maxSpinning) {
        const auto until = std::chrono::steady_clock::now() + kSpin;
        do {
          __builtin_ia32_pause();
          n = ::recv(fd_, into, room, MSG_DONTWAIT);
        } while (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
                 std::chrono::steady_clock::now() < until);
        spun(n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK));
      }
      spinning.fetch_sub(1, std::memory_order_relaxed);
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLIN, 0};
      int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
      if (ready == 0) return Status(Code::kCancelled, "timed out waiting for the peer");
      if (ready < 0 && errno != EINTR) return ioError("poll");
      continue;
    }
    if (n == 0) {
      return Status(Code::kDisconnected,
                    done == 0 ? "the peer closed the connection"
                              : fmt::format("the peer closed the connection {} bytes into a "
                                            "{}-byte read",
                                            done, out.size()));
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNRESET) return Status(Code::kDisconnected, "the peer reset the connection");
      return ioError("recv");
    }
    if (direct) {
      done += static_cast<std::size_t>(n);
    } else {
      end_ = static_cast<std::size_t>(n);
    }
  }
  return {};
}

Status Socket::writeAll(std::span<const std::byte> data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE || errno == ECONNRESET) {
        return Status(Code::kDisconnected, "the peer closed the connection");
      }
      return ioError("send");
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

void Socket::shutdownRead() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RD);
}
void Socket::shutdownWrite() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void Socket::drain(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::byte sink[16384];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return;
    ssize_t n = ::recv(fd_, sink, sizeof sink, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
  }
}

void Socket::shutdownBoth() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

Result<Socket> connectTcp(std::string_view host, std::uint16_t port,
                          std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string name(host);
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(name.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return Status(Code::kNotFound, fmt::format("{}: {}", name, ::gai_strerror(rc)));
  }
  Status last(Code::kNotFound, fmt::format("{}: no address", name));
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    Socket s(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (!s.valid()) {
      last = ioError("socket");
      continue;
    }
    (void)timeout;  // loopback and LAN connects are quick; the call's reads carry the deadline
    if (::connect(s.fd(), a->ai_addr, a->ai_addrlen) == 0) {
      ::freeaddrinfo(found);
      noDelay(s.fd());
      return s;
    }
    last = ioError(fmt::format("connect to {} port {}", name, port));
  }
  ::freeaddrinfo(found);
  return last;
}

Result<Socket> listenTcp(std::string_view host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string name(host);
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(name.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return Status(Code::kNotFound, fmt::format("{}: {}", name, ::gai_strerror(rc)));
  }
  Socket s(::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol));
  if (!s.valid()) {
    ::freeaddrinfo(found);
    return ioError("socket");
  }
  int one = 1;
  (void)::setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(s.fd(), found->ai_addr, found->ai_addrlen) != 0 || ::listen(s.fd(), 128) != 0) {
    Status error = ioError(fmt::format("listen on {} port {}", name, port));
    ::freeaddrinfo(found);
    return error;
  }
  ::freeaddrinfo(found);
  return s;
}

Result<std::uint16_t> localPort(const Socket& s) {
  sockaddr_storage a{};
  socklen_t length = sizeof a;
  if (::getsockname(s.fd(), reinterpret_cast<sockaddr*>(&a), &length) != 0) {
    return ioError("getsockname");
  }
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
  return Status(Code::kInvalidArgument, "not a TCP socket");
}

Result<Socket> connectUnix(const std::string& path, std::chrono::milliseconds timeout) {
  (void)timeout;
  WARDEN_ASSIGN_OR_RETURN(sockaddr_un a, unixAddress(path));
  Socket s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return ioError("socket");
  if (::connect(s.fd(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    return ioError(fmt::format("connect to {}", path));
  }
  return s;
}

Result<Socket> listenUnix(const std::string& path) {
  WARDEN_ASSIGN_OR_RETURN(sockaddr_un a, unixAddress(path));
  Socket s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return ioError("socket");
  ::unlink(path.c_str());  // a socket file left by an earlier server
  // Created 0600 from the start: no window in which another user could connect.
  const mode_t before = ::umask(0177);
  const int rc = ::bind(s.fd(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::umask(before);
  if (rc != 0 || ::listen(s.fd(), 128) != 0) return ioError(fmt::format("listen on {}", path));
  return s;
}

Result<std::uint32_t> peerUid(const Socket& s) {
  ucred who{};
  socklen_t length = sizeof who;
  if (::getsockopt(s.fd(), SOL_SOCKET, SO_PEERCRED, &who, &length) != 0) {
    return ioError("SO_PEERCRED");
  }
  return static_cast<std::uint32_t>(who.uid);
}

Result<std::string> lrpcPath(std::string_view name) {
  if (name.empty()) return Status(Code::kInvalidArgument, "ncalrpc needs an endpoint name");
  if (name.find('/') != std::string_view::npos) return std::string(name);
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  std::string dir = runtime != nullptr && runtime[0] != '\0'
                        ? std::string(runtime) + "/warden-rpc"
                        : fmt::format("/tmp/warden-rpc-{}", ::getuid());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ioError(fmt::format("mkdir {}", dir));
  }
  return dir + "/" + std::string(name);
}

}  // namespace warden::rpc
