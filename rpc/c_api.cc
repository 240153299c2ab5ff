// Microsoft's RPC runtime C API (rpcdce.h names) over warden::rpc: one server per process, as
// the Windows runtime has, and client bindings owned by their handles.
#include <fmt/format.h>

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "rpc/client.h"
#include "rpc/server.h"
#include "rpc/socket.h"
#include "warden/rpc.h"

namespace {

using warden::rpc::ClientBinding;
using warden::rpc::Server;

std::string text(RPC_CSTR s) { return s == nullptr ? std::string() : reinterpret_cast<char*>(s); }

// The process's server and the client bindings the C API handed out.
struct Runtime {
  std::mutex mutex;
  std::condition_variable stopped;
  std::unique_ptr<Server> server;
  struct Endpoint {
    std::string protseq, endpoint;
  };
  std::vector<Endpoint> endpoints;
  bool listening = false;
  std::map<handle_t, std::unique_ptr<ClientBinding>> bindings;

  Server& serverLocked() {
    if (!server) server = std::make_unique<Server>();
    return *server;
  }
};

Runtime& runtime() {
  static Runtime r;
  return r;
}

}  // namespace

extern "C" {

RPC_STATUS RpcStringBindingCompose(RPC_CSTR objUuid, RPC_CSTR protSeq, RPC_CSTR networkAddr,
                                   RPC_CSTR endpoint, RPC_CSTR options, RPC_CSTR* stringBinding) {
  if (stringBinding == nullptr) return RPC_S_INVALID_ARG;
  std::string out = objUuid != nullptr && *objUuid ? text(objUuid) + "@" : "";
  out += text(protSeq) + ":" + text(networkAddr);
  if (endpoint != nullptr && *endpoint) {
    out += "[" + text(endpoint);
    if (options != nullptr && *options) out += "," + text(options);
    out += "]";
  }
  auto* copy = static_cast<unsigned char*>(std::malloc(out.size() + 1));
  if (copy == nullptr) return RPC_S_OUT_OF_MEMORY;
  std::memcpy(copy, out.c_str(), out.size() + 1);
  *stringBinding = copy;
  return RPC_S_OK;
}

RPC_STATUS RpcStringFree(RPC_CSTR* string) {
  if (string == nullptr) return RPC_S_INVALID_ARG;
  std::free(*string);
  *string = nullptr;
  return RPC_S_OK;
}

RPC_STATUS RpcBindingFromStringBinding(RPC_CSTR stringBinding, RPC_BINDING_HANDLE* binding) {
  if (binding == nullptr) return RPC_S_INVALID_ARG;
  auto opened = ClientBinding::open(text(stringBinding));
  if (!opened.ok()) {
    return opened.status().code() == warden::Code::kUnsupported ? RPC_S_PROTSEQ_NOT_SUPPORTED
                                                                : RPC_S_INVALID_STRING_BINDING;
  }
  Runtime& r = runtime();
  std::lock_guard lock(r.mutex);
  handle_t h = opened.value()->handle();
  r.bindings[h] = std::move(opened).value();
  *binding = h;
  return RPC_S_OK;
}

RPC_STATUS RpcBindingFree(RPC_BINDING_HANDLE* binding) {
  if (binding == nullptr) return RPC_S_INVALID_ARG;
  Runtime& r = runtime();
  std::lock_guard lock(r.mutex);
  if (r.bindings.erase(*binding) == 0) return RPC_S_INVALID_BINDING;
  *binding = nullptr;
  return RPC_S_OK;
}

RPC_STATUS RpcServerUseProtseqEp(RPC_CSTR protseq, unsigned int, RPC_CSTR endpoint, void*) {
  const std::string p = text(protseq);
  if (p != "ncacn_ip_tcp" && p != "ncalrpc") return RPC_S_PROTSEQ_NOT_SUPPORTED;
  if (text(endpoint).empty()) return RPC_S_INVALID_ARG;
  Runtime& r = runtime();
  std::lock_guard lock(r.mutex);
  r.endpoints.push_back({p, text(endpoint)});
  return RPC_S_OK;
}

RPC_STATUS RpcServerRegisterIf(RPC_IF_HANDLE ifSpec, void*, void* mgrEpv) {
  if (ifSpec == nullptr) return RPC_S_INVALID_ARG;
  Runtime& r = runtime();
  std::lock_guard lock(r.mutex);
  r.serverLocked().registerInterface(ifSpec, mgrEpv);  // listening or not
  return RPC_S_OK;
}

RPC_STATUS RpcServerListen(unsigned int, unsigned int, unsigned int dontWait) {
  Runtime& r = runtime();
  std::unique_lock lock(r.mutex);
  if (r.listening) return RPC_S_ALREADY_LISTENING;
  if (r.endpoints.empty()) return RPC_S_NO_PROTSEQS_REGISTERED;
  Server& server = r.serverLocked();
  for (const Runtime::Endpoint& e : r.endpoints) {
    if (e.protseq == "ncalrpc") {
      auto path = warden::rpc::lrpcPath(e.endpoint);
      if (!path.ok() || !server.listenUnix(path.value()).ok()) return RPC_S_CANT_CREATE_ENDPOINT;
      continue;
    }
    char* end = nullptr;
    const unsigned long port = std::strtoul(e.endpoint.c_str(), &end, 10);
    if (*end != '\0' || port == 0 || port > 65535) return RPC_S_CANT_CREATE_ENDPOINT;
    if (!server.listenTcp("127.0.0.1", static_cast<std::uint16_t>(port)).ok()) {
      return RPC_S_CANT_CREATE_ENDPOINT;
    }
  }
  r.listening = true;
  if (dontWait != 0) return RPC_S_OK;
  r.stopped.wait(lock, [&] { return !r.listening; });
  return RPC_S_OK;
}

RPC_STATUS RpcMgmtStopServerListening(RPC_BINDING_HANDLE binding) {
  if (binding != nullptr) return RPC_S_INVALID_BINDING;  // stopping a remote server: not offered
  Runtime& r = runtime();
  std::unique_ptr<Server> server;
  {
    std::lock_guard lock(r.mutex);
    if (!r.listening) return RPC_S_NOT_LISTENING;
    server = std::move(r.server);
  }
  server->stop();  // running calls finish first
  {
    std::lock_guard lock(r.mutex);
    r.listening = false;
    r.endpoints.clear();
  }
  r.stopped.notify_all();
  return RPC_S_OK;
}

RPC_STATUS RpcMgmtWaitServerListen(void) {
  Runtime& r = runtime();
  std::unique_lock lock(r.mutex);
  if (!r.listening) return RPC_S_NOT_LISTENING;
  r.stopped.wait(lock, [&] { return !r.listening; });
  return RPC_S_OK;
}

void RpcRaiseException(RPC_STATUS code) {
  throw warden::ndr::Fault(static_cast<std::uint32_t>(code),
                           fmt::format("RpcRaiseException({:#x})", static_cast<unsigned>(code)));
}

}  // extern "C"

unsigned long wardenRpcExceptionCode() {
  try {
    throw;
  } catch (const warden::ndr::Fault& f) {
    return f.status();
  } catch (const std::bad_alloc&) {
    return RPC_S_OUT_OF_MEMORY;
  } catch (...) {
    return RPC_S_CALL_FAILED;
  }
}
