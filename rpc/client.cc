// The client side of the connection-oriented protocol over one connection per binding.
#include "rpc/client.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "epm.h"
#include "rpc/endpoint_map.h"

namespace warden::rpc {

namespace {

[[noreturn]] void communication(std::uint32_t status, std::string what) {
  throw ndr::Fault(status, std::move(what), ndr::Fault::Origin::kCommunication);
}

std::string key(const stub::SyntaxId& id) {
  return std::string(reinterpret_cast<const char*>(id.uuid), 16) +
         fmt::format("{}.{}", id.major, id.minor);
}

}  // namespace

Result<StringBinding> parseStringBinding(std::string_view text) {
  StringBinding b;
  std::string_view rest = text;
  if (std::size_t at = rest.find('@'); at != std::string_view::npos) {
    b.objectUuid = std::string(rest.substr(0, at));
    rest.remove_prefix(at + 1);
  }
  std::size_t colon = rest.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Status(
        Code::kInvalidArgument,
        fmt::format("string binding '{}': no protocol sequence (protseq:address[endpoint])", text));
  }
  b.protocolSequence = std::string(rest.substr(0, colon));
  rest.remove_prefix(colon + 1);
  std::size_t open = rest.find('[');
  b.networkAddress = std::string(rest.substr(0, open));
  if (open != std::string_view::npos) {
    std::size_t close = rest.find(']', open);
    if (close == std::string_view::npos) {
      return Status(Code::kInvalidArgument,
                    fmt::format("string binding '{}': the endpoint's ']' is missing", text));
    }
    std::string_view endpoint = rest.substr(open + 1, close - open - 1);
    endpoint = endpoint.substr(0, endpoint.find(','));  // options are not used
    if (endpoint.starts_with("endpoint=")) endpoint.remove_prefix(9);
    b.endpoint = std::string(endpoint);
  }
  if (b.protocolSequence != "ncacn_ip_tcp" && b.protocolSequence != "ncalrpc") {
    return Status(Code::kUnsupported,
                  fmt::format("string binding '{}': protocol sequence {} (ncacn_ip_tcp and "
                              "ncalrpc are supported)",
                              text, b.protocolSequence));
  }
  return b;
}

std::string composeStringBinding(const StringBinding& b) {
  std::string out = b.objectUuid.empty() ? "" : b.objectUuid + "@";
  out += b.protocolSequence + ":" + b.networkAddress;
  if (!b.endpoint.empty()) out += "[" + b.endpoint + "]";
  return out;
}

ClientBinding::ClientBinding(StringBinding target, ClientOptions options)
    : target_(std::move(target)), options_(options) {
  binding_.transport = this;
  binding_.limits = options_.limits;
}

ClientBinding::~ClientBinding() = default;

Result<std::unique_ptr<ClientBinding>> ClientBinding::open(std::string_view stringBinding,
                                                           ClientOptions options) {
  WARDEN_ASSIGN_OR_RETURN(StringBinding target, parseStringBinding(stringBinding));
  if (target.endpoint.empty() && target.protocolSequence != "ncacn_ip_tcp") {
    return Status(Code::kInvalidArgument,
                  fmt::format("string binding '{}': ncalrpc needs an endpoint", stringBinding));
  }
  if (target.protocolSequence == "ncacn_ip_tcp" && target.endpoint.empty()) {
    if (target.networkAddress.empty()) target.networkAddress = "127.0.0.1";
  } else if (target.protocolSequence == "ncacn_ip_tcp") {
    unsigned long port = 0;
    auto [end, ec] = std::from_chars(target.endpoint.data(),
                                     target.endpoint.data() + target.endpoint.size(), port);
    if (ec != std::errc() || end != target.endpoint.data() + target.endpoint.size() || port == 0 ||
        port > 65535) {
      return Status(Code::kInvalidArgument,
                    fmt::format("string binding '{}': endpoint '{}' is not a TCP port",
                                stringBinding, target.endpoint));
    }
    if (target.networkAddress.empty()) target.networkAddress = "127.0.0.1";
  }
  return std::unique_ptr<ClientBinding>(new ClientBinding(std::move(target), options));
}

void ClientBinding::disconnect() {
  socket_ = Socket();
  contexts_.clear();
  fragment_ = 0;
}

Status ClientBinding::connect() {
  if (target_.protocolSequence == "ncalrpc") {
    WARDEN_ASSIGN_OR_RETURN(std::string path, lrpcPath(target_.endpoint));
    WARDEN_ASSIGN_OR_RETURN(socket_, connectUnix(path, options_.timeout));
  } else {
    WARDEN_ASSIGN_OR_RETURN(
        socket_,
        connectTcp(target_.networkAddress, static_cast<std::uint16_t>(std::stoul(target_.endpoint)),
                   options_.timeout));
  }
  socket_.setSpin(true);  // a caller waits for each reply
  return {};
}

// Reads one whole PDU into `pdu`.
Status ClientBinding::exchange(std::vector<std::byte>& pdu, Header& header) {
  pdu.resize(kHeaderSize);
  WARDEN_TRY(socket_.readExactly(pdu, options_.timeout));
  WARDEN_ASSIGN_OR_RETURN(header, parseHeader(pdu));
  pdu.resize(header.fragLength);
  WARDEN_TRY(socket_.readExactly(std::span(pdu).subspan(kHeaderSize), options_.timeout));
  return {};
}

Result<std::uint16_t> ClientBinding::contextFor(const stub::InterfaceSpec& spec) {
  if (auto it = contexts_.find(key(spec.id)); it != contexts_.end()) return it->second;
  const bool first = fragment_ == 0;
  Bind b;
  b.maxXmitFrag = b.maxRecvFrag = options_.maxFragment;
  b.assocGroup = group_;
  const std::uint16_t id = nextContext_++;
  b.contexts.push_back({id, spec.id, {stub::kNdr20}});
  out_.clear();
  const std::uint32_t callId = nextCall_++;
  writeBind(out_, first ? PType::kBind : PType::kAlterContext, callId, b);
  WARDEN_TRY(socket_.writeAll(out_));
  std::vector<std::byte> pdu;
  Header h;
  WARDEN_TRY(exchange(pdu, h));
  if (h.type == static_cast<std::uint8_t>(PType::kBindNak)) {
    WARDEN_ASSIGN_OR_RETURN(std::uint16_t reason, parseBindNak(pdu, h));
    return Status(Code::kUnsupported,
                  fmt::format("the server refused the bind (reason {})", reason));
  }
  const PType expected = first ? PType::kBindAck : PType::kAlterContextResp;
  if (h.type != static_cast<std::uint8_t>(expected) || h.callId != callId) {
    return Status(Code::kMalformed,
                  fmt::format("a {} PDU (call {}) answered the {} of call {}", ptypeName(h.type),
                              h.callId, first ? "bind" : "alter_context", callId));
  }
  WARDEN_ASSIGN_OR_RETURN(BindAck ack, parseBindAck(pdu, h));
  if (ack.results.size() != 1 || ack.results[0].result != kAcceptance) {
    return Status(Code::kNotFound,
                  fmt::format("the server does not offer interface {} over NDR 2.0 (result {}, "
                              "reason {})",
                              spec.name, ack.results.empty() ? -1 : ack.results[0].result,
                              ack.results.empty() ? -1 : ack.results[0].reason));
  }
  if (first) {
    fragment_ = std::min(ack.maxXmitFrag, ack.maxRecvFrag);
    if (fragment_ < kRequestHeaderSize + 8) {
      return Status(Code::kMalformed,
                    fmt::format("the server's fragment size {} is too small", fragment_));
    }
    group_ = ack.assocGroup;
  }
  contexts_[key(spec.id)] = id;
  return id;
}

Status ClientBinding::resolve(const stub::InterfaceSpec& spec) {
  WARDEN_ASSIGN_OR_RETURN(
      std::unique_ptr<ClientBinding> mapper,
      open(fmt::format("ncacn_ip_tcp:{}[{}]", target_.networkAddress, options_.endpointMapperPort),
           options_));
  TcpTower asked;
  asked.interfaceId = spec.id;
  const std::vector<std::uint8_t> bytes = encodeTower(asked);
  std::vector<std::uint8_t> memory(sizeof(EPM_TOWER) + bytes.size());
  auto* tower = reinterpret_cast<EPM_TOWER*>(memory.data());
  tower->tower_length = static_cast<uint32_t>(bytes.size());
  std::memcpy(tower->tower_octet_string, bytes.data(), bytes.size());
  EPM_HANDLE more = nullptr;
  uint32_t count = 0;
  EPM_TOWER_P found[1] = {};
  error_status_t status = 0;
  try {
    ept_map(mapper->handle(), nullptr, tower, &more, 1, &count, found, &status);
  } catch (const ndr::Fault& f) {
    return Status(Code::kNotFound,
                  fmt::format("the endpoint mapper at {}[{}]: {}", target_.networkAddress,
                              options_.endpointMapperPort, f.what()));
  }
  std::unique_ptr<EPM_TOWER, void (*)(void*)> owned(found[0], midl_user_free);
  if (more != nullptr) {
    error_status_t ignored = 0;
    ept_lookup_handle_free(mapper->handle(), &more, &ignored);
  }
  if (status != 0 || count == 0 || owned == nullptr) {
    return Status(
        Code::kNotFound,
        fmt::format("the endpoint mapper at {}[{}] has no endpoint for {} (status {:#x})",
                    target_.networkAddress, options_.endpointMapperPort, spec.name, status));
  }
  WARDEN_ASSIGN_OR_RETURN(TcpTower answer, decodeTower(std::span<const std::uint8_t>(
                                               owned->tower_octet_string, owned->tower_length)));
  target_.endpoint = std::to_string(answer.port);
  return {};
}

void ClientBinding::call(const stub::InterfaceSpec& spec, std::uint32_t opnum,
                         std::span<const std::uint8_t> request, std::vector<std::uint8_t>& reply) {
  std::lock_guard lock(mutex_);
  if (target_.endpoint.empty()) {
    if (Status s = resolve(spec); !s.ok()) {
      communication(kEptNotRegistered,
                    fmt::format("{}: {}", composeStringBinding(target_), s.message()));
    }
  }
  if (!socket_.valid()) {
    if (Status s = connect(); !s.ok()) {
      communication(kRpcServerUnavailable,
                    fmt::format("{}: {}", composeStringBinding(target_), s.message()));
    }
  }
  Result<std::uint16_t> context = contextFor(spec);
  if (!context.ok()) {
    disconnect();
    communication(
        context.status().code() == Code::kNotFound ? kRpcUnknownInterface : kRpcCallFailed,
        fmt::format("{}: {}", composeStringBinding(target_), context.status().message()));
  }
  // The request's fragments, written at once.
  const std::uint32_t callId = nextCall_++;
  const std::size_t most = (fragment_ - kRequestHeaderSize) & ~std::size_t{7};
  const auto stub = std::as_bytes(request);
  out_.clear();
  std::size_t at = 0;
  do {
    const std::size_t n = std::min(most, stub.size() - at);
    Request q;
    q.allocHint = static_cast<std::uint32_t>(stub.size() - at);
    q.contextId = context.value();
    q.opnum = static_cast<std::uint16_t>(opnum);
    q.stub = stub.subspan(at, n);
    writeRequest(out_, (at == 0 ? kFirstFrag : 0) | (at + n == stub.size() ? kLastFrag : 0), callId,
                 q);
    at += n;
  } while (at < stub.size());
  auto fail = [&](std::uint32_t status, std::string_view why) {
    disconnect();
    communication(status,
                  fmt::format("{}: call {}: {}", composeStringBinding(target_), callId, why));
  };
  if (Status s = socket_.writeAll(out_); !s.ok()) fail(kRpcCallFailed, s.message());
  reply.clear();
  std::vector<std::byte> pdu;
  for (;;) {
    Header h;
    if (Status s = exchange(pdu, h); !s.ok()) fail(kRpcCallFailed, s.message());
    if (h.callId != callId) {
      if (!options_.acceptMismatchedCallIds)
        fail(kRpcProtocolError, fmt::format("a {} PDU for call {}", ptypeName(h.type), h.callId));
      if (h.flags & kFirstFrag) ++mismatchedCallIds_;
    }
    if (h.type == static_cast<std::uint8_t>(PType::kFault)) {
      Result<Fault> f = parseFault(pdu, h);
      if (!f.ok()) fail(kRpcProtocolError, f.status().message());
      throw ndr::Fault(
          f.value().status,
          fmt::format("server fault 0x{:x} on {} opnum {}", f.value().status, spec.name, opnum),
          ndr::Fault::Origin::kServer);
    }
    if (h.type != static_cast<std::uint8_t>(PType::kResponse)) {
      fail(kRpcProtocolError, fmt::format("a {} PDU where a response belongs", ptypeName(h.type)));
    }
    Result<Response> r = parseResponse(pdu, h);
    if (!r.ok()) fail(kRpcProtocolError, r.status().message());
    if (reply.size() + r.value().stub.size() > options_.maxResponseBytes) {
      fail(kRpcCallFailed,
           fmt::format("the response is over the {}-byte limit", options_.maxResponseBytes));
    }
    const auto* data = reinterpret_cast<const std::uint8_t*>(r.value().stub.data());
    reply.insert(reply.end(), data, data + r.value().stub.size());
    if (h.flags & kLastFrag) return;
  }
}

}  // namespace warden::rpc
