// The server side of the connection-oriented protocol: a thread accepts on each endpoint and a
// thread serves each connection (its association), reading a PDU at a time and answering it.
// Calls on one connection run one after another; several connections run at once.
#include "rpc/server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "rpc/endpoint_map.h"
#include "rpc/pdu.h"
#include "rpc/socket.h"
#include "warden/stub.h"

namespace warden::rpc {

namespace {

std::span<const std::byte> asBytes(const std::vector<std::uint8_t>& v) {
  return std::as_bytes(std::span(v));
}

}  // namespace

// The threads that run multiplexed calls: as many as the machine has cores.
class WorkerPool {
 public:
  explicit WorkerPool(unsigned threads) {
    for (unsigned i = 0; i < std::max(threads, 2u); ++i) {
      threads_.emplace_back([this] { work(); });
    }
  }
  ~WorkerPool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  void submit(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    ready_.notify_one();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;  // stopping, and nothing left to run
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

struct Server::Impl {
  struct Registered {
    const stub::InterfaceSpec* spec;
    const void* epv;
  };
  struct Endpoint {
    Socket socket;
    std::string secondaryAddress;  // what bind_ack names: the port, or the socket file
    bool local = false;            // ncalrpc: check the peer's user
    std::uint16_t port = 0;        // TCP: registered in the endpoint map
    std::array<std::uint8_t, 4> ipv4{};
  };
  struct Connection {
    Socket socket;
    std::thread thread;
    std::atomic<bool> done{false};
  };

  ServerOptions options;
  WorkerPool pool{std::thread::hardware_concurrency()};
  // Registered while listening too, as RpcServerRegisterIf allows: a deque keeps the entries a
  // connection's contexts point to where they are.
  std::deque<Registered> interfaces;
  mutable std::shared_mutex interfacesMutex;
  std::mutex mutex;  // endpoints, acceptors, connections
  std::list<Endpoint> endpoints;
  std::vector<std::thread> acceptors;
  std::list<Connection> connections;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint32_t> nextGroup{std::random_device{}() | 1u};
  std::atomic<std::uint64_t> connectionCount{0}, calls{0}, faults{0}, protocolErrors{0},
      liveCalls{0}, liveConnections{0};

  void accept(Endpoint& endpoint);
  void serve(Connection& connection, const Endpoint& endpoint);
  void reap();
};

namespace {

// Multiplexed calls one connection may have arriving or running at once.
constexpr std::size_t kMaxCallsInFlight = 16;

// One association: the state of a connection between PDUs.
class Association {
 public:
  Association(Server::Impl& server, Socket& socket, std::string secondaryAddress)
      : server_(server), socket_(socket), secondaryAddress_(std::move(secondaryAddress)) {}
  ~Association() {
    // Multiplexed calls still running use this association (and may open context handles).
    std::unique_lock lock(flight_);
    landed_.wait(lock, [&] { return inFlight_ == 0; });
    lock.unlock();
    handles_.runDown();
  }

  // Serves until the peer leaves, the connection breaks the protocol or the server stops.
  void run() {
    std::vector<std::byte> pdu;
    for (;;) {
      pdu.resize(kHeaderSize);
      Status read = socket_.readExactly(pdu, server_.options.idleTimeout);
      if (!read.ok()) return;
      Result<Header> header = parseHeader(pdu);
      if (!header.ok()) {
        protocolError(0, header.status().message());
        return;
      }
      const Header& h = header.value();
      if (bound_ && h.fragLength > maxFragment_) {
        protocolError(h.callId, fmt::format("frag_length {} is over the negotiated {}",
                                            h.fragLength, maxFragment_));
        return;
      }
      pdu.resize(h.fragLength);
      read = socket_.readExactly(std::span(pdu).subspan(kHeaderSize), server_.options.idleTimeout);
      if (!read.ok()) return;
      if (!handle(pdu, h)) return;
    }
  }

 private:
  // False when the connection must close.
  bool handle(std::span<const std::byte> pdu, const Header& h) {
    switch (static_cast<PType>(h.type)) {
      case PType::kBind:
        if (bound_) return protocolError(h.callId, "a second bind on one association");
        return bind(pdu, h, PType::kBindAck);
      case PType::kAlterContext:
        if (!bound_) return protocolError(h.callId, "alter_context before bind");
        return bind(pdu, h, PType::kAlterContextResp);
      case PType::kRequest:
        if (!bound_) return protocolError(h.callId, "request before bind");
        return request(pdu, h);
      case PType::kOrphaned:
      case PType::kCoCancel:
        // The client gave up a call: drop what arrived of it.
        partials_.erase(h.callId);
        return true;
      default:
        return protocolError(h.callId, fmt::format("a {} PDU from a client", ptypeName(h.type)));
    }
  }

  bool bind(std::span<const std::byte> pdu, const Header& h, PType answer) {
    std::vector<std::byte> out;
    if (h.authLength != 0) {
      // No security providers yet: the client learns so and may bind without authentication.
      writeBindNak(out, h.callId, kNakAuthenticationTypeNotRecognized);
      return send(out) && answer == PType::kAlterContextResp;
    }
    Result<Bind> parsed = parseBind(pdu, h);
    if (!parsed.ok() || parsed.value().contexts.empty()) {
      writeBindNak(out, h.callId, kNakProtocolVersionNotSupported);
      (void)send(out);
      server_.protocolErrors++;
      return false;
    }
    if (answer == PType::kBindAck) multiplexed_ = (h.flags & kConcMpx) != 0;
    const Bind& b = parsed.value();
    BindAck ack;
    if (answer == PType::kBindAck) {
      // Samba's rule (and Windows'): the smaller of the client's sizes and ours, at least 2048,
      // a multiple of 8, the same both ways.
      unsigned size = std::min({unsigned{b.maxXmitFrag}, unsigned{b.maxRecvFrag},
                                unsigned{server_.options.maxFragment}});
      maxFragment_ = static_cast<std::uint16_t>(std::max(size, 2048u) & ~7u);
      group_ = b.assocGroup != 0 ? b.assocGroup : server_.nextGroup++;
      ack.secondaryAddress = secondaryAddress_;
    }
    ack.maxXmitFrag = ack.maxRecvFrag = maxFragment_;
    ack.assocGroup = group_;
    for (const ContextElement& c : b.contexts) ack.results.push_back(negotiate(c));
    writeBindAck(out, answer, h.callId, ack, multiplexed_ ? kConcMpx : 0);
    bound_ = true;
    return send(out);
  }

  ContextResult negotiate(const ContextElement& c) {
    ContextResult r;
    if (c.transferSyntaxes.size() == 1 && isFeatureNegotiation(c.transferSyntaxes[0])) {
      // Orphaned calls are dropped without closing the connection; no security contexts yet.
      r.result = kNegotiateAck;
      r.reason = offeredFeatures(c.transferSyntaxes[0]) & kKeepConnectionOnOrphan;
      return r;
    }
    const Server::Impl::Registered* found = nullptr;
    std::shared_lock interfaces(server_.interfacesMutex);
    for (const Server::Impl::Registered& i : server_.interfaces) {
      const stub::SyntaxId& ours = i.spec->id;
      if (std::memcmp(ours.uuid, c.abstractSyntax.uuid, 16) == 0 &&
          ours.major == c.abstractSyntax.major && c.abstractSyntax.minor <= ours.minor) {
        found = &i;
      }
    }
    r.result = kProviderRejection;
    if (found == nullptr) {
      r.reason = kAbstractSyntaxNotSupported;
      return r;
    }
    for (const stub::SyntaxId& t : c.transferSyntaxes) {
      if (stub::sameInterface(t, stub::kNdr20)) {
        r.result = kAcceptance;
        r.transferSyntax = t;
        contexts_[c.id] = found;
        return r;
      }
    }
    r.reason = kTransferSyntaxesNotSupported;  // NDR64 only, for one
    return r;
  }

  bool request(std::span<const std::byte> pdu, const Header& h) {
    Result<Request> parsed = parseRequest(pdu, h);
    if (!parsed.ok()) return protocolError(h.callId, parsed.status().message());
    const Request& q = parsed.value();
    auto it = partials_.find(h.callId);
    if (h.flags & kFirstFrag) {
      if (it != partials_.end()) {
        return protocolError(h.callId, fmt::format("call {} began twice", h.callId));
      }
      if (!partials_.empty() && !multiplexed_) {
        return protocolError(h.callId, fmt::format("call {} began before call {} ended", h.callId,
                                                   partials_.begin()->first));
      }
      if (partials_.size() >= kMaxCallsInFlight) {
        return protocolError(h.callId, "too many calls being sent at once");
      }
      it = partials_
               .emplace(
                   h.callId,
                   Partial{
                       h.callId, q.contextId, q.opnum, h.nativeDataRepresentation(), {}, nullptr})
               .first;
    } else if (it == partials_.end()) {
      return protocolError(h.callId, "a request fragment without its first fragment");
    }
    Partial& partial = it->second;
    if (partial.stub.size() + q.stub.size() > server_.options.maxRequestBytes) {
      return protocolError(h.callId, fmt::format("the request is over the {}-byte limit",
                                                 server_.options.maxRequestBytes));
    }
    const auto* data = reinterpret_cast<const std::uint8_t*>(q.stub.data());
    partial.stub.insert(partial.stub.end(), data, data + q.stub.size());
    if (!(h.flags & kLastFrag)) return true;
    auto call = std::make_shared<Partial>(std::move(partial));
    partials_.erase(it);
    if (auto context = contexts_.find(call->contextId); context != contexts_.end()) {
      call->target = context->second;
    }
    if (!multiplexed_) return send(respond(*call));  // one call at a time: on this thread
    // Several calls at once: the server's workers run them, replies go out as they finish.
    {
      std::unique_lock lock(flight_);
      landed_.wait(lock, [&] { return inFlight_ < kMaxCallsInFlight; });
      ++inFlight_;
    }
    server_.pool.submit([this, call] {
      (void)send(respond(*call));
      std::lock_guard lock(flight_);
      --inFlight_;
      landed_.notify_all();
    });
    return true;
  }

  struct Partial {
    std::uint32_t callId = 0;
    std::uint16_t contextId = 0;
    std::uint16_t opnum = 0;
    bool native = true;
    std::vector<std::uint8_t> stub;
    // The interface its presentation context names, found on the connection's thread (an
    // alter_context may add contexts while workers run calls); null for an unknown context.
    const Server::Impl::Registered* target = nullptr;
  };

  // The PDUs that answer `call`: its response fragments, or a fault.
  std::vector<std::byte> respond(const Partial& call) {
    server_.calls++;
    std::vector<std::byte> out;
    if (call.target == nullptr) return fault(call, kNcaUnknownInterface, kDidNotExecute);
    if (!call.native) return fault(call, kNcaUnsupportedType, kDidNotExecute);
    std::vector<std::uint8_t> reply;
    server_.liveCalls++;
    const std::uint32_t status =
        stub::dispatch(*call.target->spec, call.target->epv, call.opnum, call.stub, reply, nullptr,
                       server_.options.limits, nullptr, nullptr, &handles_);
    server_.liveCalls--;
    if (status != 0) {
      return fault(call, status, status == stub::kNcaOpRangeError ? kDidNotExecute : 0);
    }
    // Fragments of at most the negotiated size; every one but the last carries a multiple of 8.
    const std::size_t most = (maxFragment_ - kRequestHeaderSize) & ~std::size_t{7};
    std::size_t at = 0;
    do {
      const std::size_t n = std::min(most, reply.size() - at);
      Response r;
      r.allocHint = static_cast<std::uint32_t>(reply.size() - at);
      r.contextId = call.contextId;
      r.stub = asBytes(reply).subspan(at, n);
      const std::uint8_t flags =
          (at == 0 ? kFirstFrag : 0) | (at + n == reply.size() ? kLastFrag : 0);
      writeResponse(out, flags, call.callId, r);
      at += n;
    } while (at < reply.size());
    return out;
  }

  std::vector<std::byte> fault(const Partial& call, std::uint32_t status, std::uint8_t flags) {
    server_.faults++;
    std::vector<std::byte> out;
    writeFault(out, flags, call.callId, Fault{call.contextId, status});
    return out;
  }

  // The peer broke the protocol: a fault naming it (bind_nak before bind), then the
  // connection closes.
  bool protocolError(std::uint32_t callId, std::string_view why) {
    (void)why;
    server_.protocolErrors++;
    std::vector<std::byte> out;
    if (bound_) {
      writeFault(out, kDidNotExecute, callId, Fault{0, kNcaProtocolError});
    } else {
      writeBindNak(out, callId, kNakProtocolVersionNotSupported);
    }
    (void)send(out);
    return false;
  }

  // Whole PDUs at once: workers answering multiplexed calls share the connection.
  bool send(std::span<const std::byte> pdus) {
    std::lock_guard lock(writing_);
    return socket_.writeAll(pdus).ok();
  }

  Server::Impl& server_;
  Socket& socket_;
  std::string secondaryAddress_;
  bool bound_ = false;
  std::uint16_t maxFragment_ = 0;
  std::uint32_t group_ = 0;
  std::map<std::uint16_t, const Server::Impl::Registered*> contexts_;
  stub::ContextTable handles_;                 // this association's context handles
  std::map<std::uint32_t, Partial> partials_;  // calls still arriving, by call_id
  bool multiplexed_ = false;                   // the client asked for PFC_CONC_MPX
  std::mutex writing_;
  std::mutex flight_;
  std::condition_variable landed_;
  std::size_t inFlight_ = 0;  // multiplexed calls the workers hold
};

}  // namespace

void Server::Impl::serve(Connection& connection, const Endpoint& endpoint) {
  liveConnections++;
  if (endpoint.local && options.sameUserOnly) {
    Result<std::uint32_t> uid = peerUid(connection.socket);
    if (!uid.ok() || uid.value() != ::geteuid()) {
      std::lock_guard lock(mutex);
      connection.socket = Socket();
      liveConnections--;
      connection.done = true;
      return;
    }
  }
  {
    Association association(*this, connection.socket, endpoint.secondaryAddress);
    association.run();
  }  // context handles run down here, before the connection closes
  // The last PDU (a fault, a bind_nak) reaches the client before the connection closes.
  connection.socket.shutdownWrite();
  connection.socket.drain(std::chrono::seconds(2));
  {
    std::lock_guard lock(mutex);  // stop() may be shutting it down
    connection.socket = Socket();
  }
  liveConnections--;
  connection.done = true;
}

void Server::Impl::reap() {
  std::lock_guard lock(mutex);
  for (auto it = connections.begin(); it != connections.end();) {
    if (it->done) {
      it->thread.join();
      it = connections.erase(it);
    } else {
      ++it;
    }
  }
}

void Server::Impl::accept(Endpoint& endpoint) {
  for (;;) {
    int fd = ::accept4(endpoint.socket.fd(), nullptr, nullptr, SOCK_CLOEXEC);
    if (stopping) {
      if (fd >= 0) ::close(fd);
      return;
    }
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) {
        if (errno == EMFILE || errno == ENFILE)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      return;
    }
    if (!endpoint.local) {
      int one = 1;  // replies go out whole: no reason to wait for the client's ACK
      (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    reap();
    connectionCount++;
    std::lock_guard lock(mutex);
    if (stopping) {
      ::close(fd);
      return;
    }
    Connection& c = connections.emplace_back();
    c.socket = Socket(fd);
    c.socket.setSpin(true);  // the next request of a busy client follows its reply closely
    c.thread = std::thread([this, &c, &endpoint] { serve(c, endpoint); });
  }
}

namespace {

// The tower ept_map answers for `spec` at TCP endpoint `e`.
TcpTower towerOf(const Server::Impl::Endpoint& e, const stub::InterfaceSpec& spec) {
  TcpTower tower;
  tower.interfaceId = spec.id;
  tower.port = e.port;
  tower.ipv4 = e.ipv4;
  return tower;
}

}  // namespace

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
}

Server::~Server() { stop(); }

void Server::registerInterface(RPC_IF_HANDLE spec, const void* epv) {
  const stub::InterfaceSpec& added = stub::spec(spec);
  {
    std::unique_lock interfaces(impl_->interfacesMutex);
    impl_->interfaces.push_back({&added, epv});
  }
  // Listening already: the endpoint map learns it for every TCP endpoint.
  std::lock_guard lock(impl_->mutex);
  for (const Impl::Endpoint& e : impl_->endpoints) {
    if (e.port != 0) endpointMap().add({{}, towerOf(e, added), added.name});
  }
}

Result<std::uint16_t> Server::listenTcp(std::string_view host, std::uint16_t port) {
  WARDEN_ASSIGN_OR_RETURN(Socket s, rpc::listenTcp(host, port));
  WARDEN_ASSIGN_OR_RETURN(std::uint16_t bound, localPort(s));
  // The process's endpoint map answers ept_map for these interfaces from now on.
  std::shared_lock interfaces(impl_->interfacesMutex);
  std::lock_guard lock(impl_->mutex);
  Impl::Endpoint& e = impl_->endpoints.emplace_back();
  e.socket = std::move(s);
  e.secondaryAddress = std::to_string(bound);
  e.port = bound;
  (void)::inet_pton(AF_INET, std::string(host).c_str(), e.ipv4.data());
  for (const Impl::Registered& r : impl_->interfaces)
    endpointMap().add({{}, towerOf(e, *r.spec), r.spec->name});
  impl_->acceptors.emplace_back([this, &e] { impl_->accept(e); });
  return bound;
}

Status Server::listenUnix(const std::string& path) {
  WARDEN_ASSIGN_OR_RETURN(Socket s, rpc::listenUnix(path));
  std::lock_guard lock(impl_->mutex);
  Impl::Endpoint& e = impl_->endpoints.emplace_back();
  e.socket = std::move(s);
  e.secondaryAddress = path;
  e.local = true;
  impl_->acceptors.emplace_back([this, &e] { impl_->accept(e); });
  return {};
}

void Server::stop() {
  if (impl_->stopping.exchange(true)) return;
  std::vector<std::thread> acceptors;
  {
    std::lock_guard lock(impl_->mutex);
    // accept() returns once its socket is shut down; a connection's next read sees the end of
    // the stream, after the call it is running has replied.
    for (Impl::Endpoint& e : impl_->endpoints) e.socket.shutdownBoth();
    for (Impl::Connection& c : impl_->connections) c.socket.shutdownRead();
    acceptors.swap(impl_->acceptors);
  }
  for (std::thread& t : acceptors) t.join();
  // With the acceptors gone nothing adds or reaps connections; their threads take the mutex to
  // close their sockets, so they are joined without it.
  for (Impl::Connection& c : impl_->connections) c.thread.join();
  std::shared_lock interfaces(impl_->interfacesMutex);  // always before mutex
  std::lock_guard lock(impl_->mutex);
  impl_->connections.clear();
  for (Impl::Endpoint& e : impl_->endpoints) {
    if (e.local) ::unlink(e.secondaryAddress.c_str());
    for (const Impl::Registered& r : impl_->interfaces) {
      if (e.port != 0) endpointMap().remove(r.spec->id, e.port);
    }
  }
  impl_->endpoints.clear();
}

ServerStats Server::stats() const {
  ServerStats s;
  s.connections = impl_->connectionCount;
  s.calls = impl_->calls;
  s.faults = impl_->faults;
  s.protocolErrors = impl_->protocolErrors;
  s.liveCalls = impl_->liveCalls;
  s.liveConnections = impl_->liveConnections;
  return s;
}

}  // namespace warden::rpc
