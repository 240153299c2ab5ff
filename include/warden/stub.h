// What the stubs `warden idl --client/--server` generate are built on: the interface
// specification an RPC_IF_HANDLE points to (interface UUID and version, the operations by opnum,
// the allocator pair), the server stubs the runtime dispatches to with the manager entry point
// vector (EPV), one call on each side (ClientCall, ServerCall) and the Transport that carries the
// stub data between them: in-process here, DCE/RPC over sockets in rpc/. C++.
#ifndef WARDEN_STUB_H_
#define WARDEN_STUB_H_

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "warden/ndr.h"
#include "warden/rpc.h"

namespace warden::stub {

// An interface or transfer syntax identifier. The UUID's bytes are in the order the text shows
// them (RFC 4122); the wire's little-endian first three fields are the runtime's business.
struct SyntaxId {
  std::uint8_t uuid[16];
  std::uint16_t major;
  std::uint16_t minor;
};

// NDR 2.0: 8a885d04-1ceb-11c9-9fe8-08002b104860 version 2.0, the transfer syntax of every
// interface Warden generates.
inline constexpr SyntaxId kNdr20 = {{0x8a, 0x88, 0x5d, 0x04, 0x1c, 0xeb, 0x11, 0xc9, 0x9f, 0xe8,
                                     0x08, 0x00, 0x2b, 0x10, 0x48, 0x60},
                                    2,
                                    0};

class ServerCall;

// Context handles. On the wire: 20 bytes, attributes (u32) and a UUID; all zero is the null
// handle. A client's handle variable points to a ClientContext the runtime allocated; a server
// keeps its manager's pointers in a ContextTable by UUID, and runs each one's rundown when the
// client goes away.
struct ClientContext {
  std::uint32_t attributes = 0;
  std::uint8_t uuid[16] = {};
  handle_t binding = nullptr;  // the binding the handle came through (it can bind later calls)
};
inline constexpr std::uint32_t kSsInNullContext = 0x6EF;         // RPC_X_SS_IN_NULL_CONTEXT
inline constexpr std::uint32_t kSsContextMismatch = 0x1C00001A;  // nca_s_fault_context_mismatch

// [in] (or [in, out]: `nullAllowed`) context handle from the client.
void pushClientContext(ndr::Encoder& e, const void* handle, bool nullAllowed, const char* field);
// [out] or [in, out]: the server's handle into the client's variable (null when it closed it).
void pullClientContext(ndr::Decoder& d, void*& handle, handle_t binding, const char* field);
template <typename H>
void pullClientContext(ndr::Decoder& d, H& handle, handle_t binding, const char* field) {
  void* h = handle;
  pullClientContext(d, h, binding, field);
  handle = static_cast<H>(h);
}
// The binding an operation without a handle_t parameter uses through its context handle.
handle_t contextBinding(const void* handle);

// MIDL's auto_handle, for an operation nothing else binds (no handle_t, generic or context
// handle parameter, no ACF implicit_handle): the binding the runtime finds for the interface on
// its own. Warden has no name service to import it from; the application names it once with
// setAutoBinding, for one interface (its client RPC_IF_HANDLE) or, with a null spec, for every
// interface without one of its own. A call with neither fails with RPC_S_NO_BINDINGS (0x6B6).
// A null binding forgets the entry.
handle_t autoBinding(RPC_IF_HANDLE spec);
void setAutoBinding(RPC_IF_HANDLE spec, handle_t binding);
inline constexpr std::uint32_t kNoBindings = 0x6B6;  // RPC_S_NO_BINDINGS

// A generic binding handle (a parameter whose type is a typedef with [handle]) for one call, as
// MIDL's client stubs do it: the application's <TYPE>_bind makes the binding from the value on
// the way in, <TYPE>_unbind gets both back on the way out, when the call fails too. A bind that
// returns no binding is RPC_S_INVALID_BINDING, and nothing is unbound.
template <typename T>
class GenericBinding {
 public:
  GenericBinding(T value, handle_t (*bind)(T), void (*unbind)(T, handle_t))
      : value_(value), unbind_(unbind), handle_(bind(value)) {
    if (handle_ == nullptr) {
      throw ndr::Fault(0x6A6, "the generic handle's bind routine returned no binding",
                       ndr::Fault::Origin::kCommunication);
    }
  }
  ~GenericBinding() { unbind_(value_, handle_); }
  GenericBinding(const GenericBinding&) = delete;
  GenericBinding& operator=(const GenericBinding&) = delete;
  handle_t handle() const { return handle_; }

 private:
  T value_;
  void (*unbind_)(T, handle_t);
  handle_t handle_;
};

class ContextTable {
 public:
  using Rundown = void (*)(void*);
  struct Key {
    std::uint8_t uuid[16];
  };
  ContextTable();
  ~ContextTable();
  ContextTable(const ContextTable&) = delete;
  ContextTable& operator=(const ContextTable&) = delete;
  // The manager's pointer for a handle the client sent; false for one this table never gave.
  bool find(const Key& key, void*& user) const;
  // A new handle for `user`; replaces `user` of an existing one; forgets one (null user).
  Key open(void* user, Rundown rundown);
  void update(const Key& key, void* user);
  void close(const Key& key);
  std::size_t size() const;
  // The client went away: every open handle's rundown runs, and the table empties.
  void runDown();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Where a server stub keeps a context handle parameter between unmarshalling and the reply.
struct ServerContext {
  bool known = false;  // the client sent a non-null handle this table knows
  ContextTable::Key key{};
};

// The server stub of one operation: unmarshals the request, calls the manager routine in `epv`,
// marshals the reply.
using ServerStub = void (*)(const void* epv, ServerCall& call);

// What <iface>_v<maj>_<min>_c_ifspec and _s_ifspec point to.
struct InterfaceSpec {
  SyntaxId id;
  SyntaxId transferSyntax;
  const char* name;
  std::uint32_t operationCount;
  const char* const* operationNames;  // by opnum
  const void* epv;  // server: the default manager EPV (<iface>_v<maj>_<min>_epv_t); client: null
  const ServerStub* stubs;  // server: by opnum; client: null
  // The allocator pair of the interface's data that crosses the call (midl_user_allocate/free).
  void* (*allocate)(std::size_t);
  void (*free)(void*);
  // ACF [enable_allocate]: server calls run in an RpcSs environment; client stubs allocate from
  // the caller's environment when it has one.
  bool enableAllocate;
};

// An RpcSs environment: a thread-safe custody heap some threads allocate from.
struct SsEnvironment;
// The calling thread's environment, or null.
SsEnvironment* currentSsEnvironment();
// The pair RpcSsSetClientAllocFree installed on this thread ({null, null} when none).
struct AllocFree {
  void* (*allocate)(std::size_t) = nullptr;
  void (*free)(void*) = nullptr;
};
AllocFree& clientAllocFree();

bool sameInterface(const SyntaxId& a, const SyntaxId& b);

// Carries one call's request stub data to a server and the reply back. A fault comes back as an
// ndr::Fault with the server's status.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void call(const InterfaceSpec& spec, std::uint32_t opnum,
                    std::span<const std::uint8_t> request, std::vector<std::uint8_t>& reply) = 0;
};

// What a Warden handle_t points to.
struct Binding {
  Transport* transport = nullptr;
  ndr::Limits limits;  // for the replies this client reads
};

// One call from the client stub's side: the request it encodes, the reply it decodes into the
// caller's memory (new nodes from the interface's allocator), the full-pointer table both share.
class ClientCall {
 public:
  ClientCall(handle_t binding, RPC_IF_HANDLE spec, std::uint32_t opnum);
  ndr::Encoder& request() { return request_; }
  // Sends the request; the reply's decoder.
  ndr::Decoder& send();
  const InterfaceSpec& spec() const { return spec_; }
  ndr::Allocator& allocator() { return allocator_; }
  handle_t binding() const { return &binding_; }

 private:
  Binding& binding_;
  const InterfaceSpec& spec_;
  std::uint32_t opnum_;
  ndr::FullPointerTable table_;
  ndr::Encoder request_;
  std::vector<std::uint8_t> replyBytes_;
  // RpcSsSetClientAllocFree's pair, else the caller's RpcSs environment ([enable_allocate]),
  // else the interface's pair.
  struct ClientAllocator final : ndr::Allocator {
    void* allocate(std::size_t bytes) override;
    const InterfaceSpec* spec;
  };
  ClientAllocator allocator_;
  std::unique_ptr<ndr::Decoder> reply_;
};

// What the client's last call on this thread did to memory the runtime does not own: pointees of
// [in,out] data the server dropped (the caller frees them).
ndr::ClientEffects& lastCallEffects();

// Counters of one server call, for tests and statistics.
struct ServerCallStats {
  std::uint64_t stubAllocations = 0;  // blocks the stub took from the call's scope
  std::size_t stubBytes = 0;          // their bytes
  std::uint64_t managerBlocksFreed =
      0;  // [out] blocks the manager allocated, freed after marshalling
};

// One call from the server stub's side. Everything the stub allocates lives in the call's custody
// scope, released when the call ends however it ends; [out] memory the manager allocated with
// the interface's allocator is freed after the reply is marshalled; allocate(dont_free) data is
// taken from the interface's allocator and left to the manager.
class ServerCall {
 public:
  ServerCall(const InterfaceSpec& spec, std::span<const std::uint8_t> request, handle_t binding,
             const ndr::Limits& limits);
  ~ServerCall();
  ServerCall(const ServerCall&) = delete;
  ServerCall& operator=(const ServerCall&) = delete;

  ndr::Decoder& request() { return *request_; }
  ndr::Encoder& reply() { return reply_; }
  handle_t binding() const { return binding_; }
  // Zeroed memory from the call's scope (an [out] ref pointer's first level).
  void* allocate(std::size_t bytes);
  // The interface's allocator (dont_free data the manager keeps). Until handOver() the call owns
  // what it hands out: a request that fails to unmarshal frees it.
  ndr::Allocator& userAllocator() { return user_; }
  // The manager is about to run: dont_free data is the manager's from here on.
  void handOver() { user_.blocks.clear(); }
  ndr::Allocator& scopeAllocator();
  // A block the stub allocated for a whole graph (all_nodes): the reply's pointers into it are
  // the stub's, not the manager's.
  void stubBlock(const void* block, std::size_t bytes) {
    stubBlocks_.push_back({static_cast<const std::byte*>(block), bytes});
  }
  // After the reply is written: frees the blocks it reached that the stub did not allocate.
  void freeManagerBlocks();
  // [enable_allocate]: an RpcSs environment for this call on this thread, released with it.
  void enableAllocate();
  // Context handles: the manager's pointer for the handle in the request (an unknown one is
  // nca_s_fault_context_mismatch), and the handle for the reply after the manager ran.
  template <typename H>
  void pullContext(ServerContext& slot, H& user, bool nullAllowed, const char* field) {
    void* u = nullptr;
    pullContextRaw(slot, u, nullAllowed, field);
    user = static_cast<H>(u);
  }
  void pushContext(ServerContext& slot, const void* user, ContextTable::Rundown rundown);
  void useContexts(ContextTable* table) { contexts_ = table; }
  ServerCallStats stats() const;

 private:
  struct State;
  const InterfaceSpec& spec_;
  handle_t binding_;
  std::unique_ptr<State> state_;
  struct UserAllocator final : ndr::Allocator {
    explicit UserAllocator(void* (*allocate)(std::size_t)) : allocate_(allocate) {}
    void* allocate(std::size_t bytes) override {
      void* p = allocate_(bytes);
      if (p != nullptr) blocks.push_back(p);
      return p;
    }
    void* (*allocate_)(std::size_t);
    std::vector<void*> blocks;  // not yet handed over
  };
  UserAllocator user_;
  std::unique_ptr<SsEnvironment> ss_;
  SsEnvironment* ssBefore_ = nullptr;
  ContextTable* contexts_ = nullptr;
  void pullContextRaw(ServerContext& slot, void*& user, bool nullAllowed, const char* field);
  ndr::FullPointerTable table_;
  std::unique_ptr<ndr::Decoder> request_;
  ndr::Encoder reply_;
  std::vector<const void*> visited_;
  struct Block {
    const std::byte* start;
    std::size_t bytes;
  };
  std::vector<Block> stubBlocks_;
  std::uint64_t managerFreed_ = 0;
};

// Runs one call on the server: the stub for `opnum` with `epv` (the interface's default when
// null). Returns 0 and the reply's stub data, or the fault status: nca_s_op_rng_error for an
// opnum out of range, RPC_X_BAD_STUB_DATA when the request does not unmarshal, a Fault's own
// status, RPC_S_CALL_FAILED for any other exception from the manager.
std::uint32_t dispatch(const InterfaceSpec& spec, const void* epv, std::uint32_t opnum,
                       std::span<const std::uint8_t> request, std::vector<std::uint8_t>& reply,
                       handle_t binding, const ndr::Limits& limits, ServerCallStats* stats,
                       std::string* faultDetail = nullptr, ContextTable* contexts = nullptr);

inline constexpr std::uint32_t kNcaOpRangeError = 0x1C010002;  // nca_s_op_rng_error

// A server in this process: registered interfaces answer calls through separate copies of the
// stub data (no pointer crosses), as a remote server would.
class InProcessServer final : public Transport {
 public:
  void registerInterface(RPC_IF_HANDLE spec, const void* epv = nullptr);
  void call(const InterfaceSpec& spec, std::uint32_t opnum, std::span<const std::uint8_t> request,
            std::vector<std::uint8_t>& reply) override;
  // A binding whose handle_t clients pass (or assign to an implicit handle).
  handle_t bind();
  ServerCallStats lastCall() const { return last_; }
  // The context handles this server's clients hold.
  ContextTable& contexts() { return contexts_; }
  // The stub data of the last request, as the server received it.
  const std::vector<std::uint8_t>& lastRequest() const { return lastRequest_; }
  ndr::Limits limits;

 private:
  struct Registered {
    const InterfaceSpec* spec;
    const void* epv;
  };
  std::vector<Registered> interfaces_;
  std::vector<std::unique_ptr<Binding>> bindings_;
  ServerCallStats last_;
  std::vector<std::uint8_t> lastRequest_;
  ContextTable contexts_;
};

inline const InterfaceSpec& spec(RPC_IF_HANDLE handle) {
  return *static_cast<const InterfaceSpec*>(handle);
}

}  // namespace warden::stub

#endif  // WARDEN_STUB_H_
