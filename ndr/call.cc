// One call on each side of the stubs, the server's dispatch and the in-process transport.
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <exception>

#include "custody/scope.h"
#include "ndr/rpcss.h"
#include "warden/stub.h"

namespace warden::stub {

bool sameInterface(const SyntaxId& a, const SyntaxId& b) {
  return std::memcmp(a.uuid, b.uuid, sizeof a.uuid) == 0 && a.major == b.major &&
         a.minor == b.minor;
}

ndr::ClientEffects& lastCallEffects() {
  thread_local ndr::ClientEffects effects;
  return effects;
}

namespace {

Binding& bindingOf(handle_t h) {
  if (h == nullptr) {
    throw ndr::Fault(0x6A6 /* RPC_S_INVALID_BINDING */, "null binding handle",
                     ndr::Fault::Origin::kCommunication);
  }
  return *static_cast<Binding*>(h);
}

}  // namespace

ClientCall::ClientCall(handle_t binding, RPC_IF_HANDLE spec, std::uint32_t opnum)
    : binding_(bindingOf(binding)),
      spec_(stub::spec(spec)),
      opnum_(opnum),
      request_(&table_, ndr::FullPointerTable::kRequest) {
  allocator_.spec = &spec_;
  lastCallEffects().orphaned.clear();
}

void* ClientCall::ClientAllocator::allocate(std::size_t bytes) {
  if (AllocFree& pair = clientAllocFree(); pair.allocate != nullptr) return pair.allocate(bytes);
  if (spec->enableAllocate && currentSsEnvironment() != nullptr) {
    RPC_STATUS status = 0;
    return RpcSmAllocate(bytes, &status);
  }
  return spec->allocate(bytes);
}

ndr::Decoder& ClientCall::send() {
  if (binding_.transport == nullptr) {
    throw ndr::Fault(0x6A6, "binding without a transport", ndr::Fault::Origin::kCommunication);
  }
  binding_.transport->call(spec_, opnum_, request_.bytes(), replyBytes_);
  reply_ = std::make_unique<ndr::Decoder>(replyBytes_, allocator_, &table_,
                                          ndr::FullPointerTable::kReply, binding_.limits);
  reply_->recordEffects(&lastCallEffects());
  return *reply_;
}

// The call's scope and an Allocator over its heap.
struct ServerCall::State final : ndr::Allocator {
  custody::Scope scope{"rpc call"};
  void* allocate(std::size_t bytes) override { return scope.heap().alloc(bytes); }
};

ServerCall::ServerCall(const InterfaceSpec& spec, std::span<const std::uint8_t> request,
                       handle_t binding, const ndr::Limits& limits)
    : spec_(spec),
      binding_(binding),
      state_(std::make_unique<State>()),
      user_(spec.allocate),
      reply_(&table_, ndr::FullPointerTable::kReply) {
  request_ = std::make_unique<ndr::Decoder>(request, *state_, &table_,
                                            ndr::FullPointerTable::kRequest, limits);
  request_->allowAliasing(state_.get());
  reply_.recordVisits(&visited_);
}

// The scope releases everything the stub took; dont_free data the manager never received goes
// back to the interface's allocator.
ServerCall::~ServerCall() {
  for (void* p : user_.blocks) spec_.free(p);
  if (ss_) detail::leaveSsEnvironment(ssBefore_);  // the environment's memory goes with ss_
}

void ServerCall::enableAllocate() {
  if (ss_) return;
  ss_ = detail::newSsEnvironment();
  ssBefore_ = detail::enterSsEnvironment(ss_.get());
}

void* ServerCall::allocate(std::size_t bytes) { return request_->allocate(bytes, "[out]"); }

ndr::Allocator& ServerCall::scopeAllocator() { return *state_; }

void ServerCall::freeManagerBlocks() {
  custody::Heap& heap = state_->scope.heap();
  // A full-pointer node is visited once; unique and ref pointees cannot alias.
  auto inStubBlock = [this](const void* p) {
    auto* b = static_cast<const std::byte*>(p);
    for (const Block& block : stubBlocks_) {
      if (b >= block.start && b < block.start + block.bytes) return true;
    }
    return false;
  };
  for (const void* p : visited_) {
    if (heap.owns(p) || inStubBlock(p) || request_->inBuffer(p)) continue;
    if (ss_ && detail::ssOwns(*ss_, p)) continue;  // RpcSsAllocate: released with the call
    spec_.free(const_cast<void*>(p));
    ++managerFreed_;
  }
  visited_.clear();
}

ServerCallStats ServerCall::stats() const {
  custody::HeapStats h = state_->scope.heap().stats();
  return {h.totalAllocations, h.peakBytes, managerFreed_};
}

std::uint32_t dispatch(const InterfaceSpec& spec, const void* epv, std::uint32_t opnum,
                       std::span<const std::uint8_t> request, std::vector<std::uint8_t>& reply,
                       handle_t binding, const ndr::Limits& limits, ServerCallStats* stats,
                       std::string* faultDetail, ContextTable* contexts) {
  if (opnum >= spec.operationCount || spec.stubs == nullptr) {
    if (faultDetail) *faultDetail = fmt::format("{}: no opnum {}", spec.name, opnum);
    return kNcaOpRangeError;
  }
  ServerCall call(spec, request, binding, limits);
  call.useContexts(contexts);
  std::uint32_t status = 0;
  try {
    spec.stubs[opnum](epv ? epv : spec.epv, call);
    auto bytes = call.reply().bytes();
    reply.assign(bytes.begin(), bytes.end());
  } catch (const ndr::Fault& f) {
    status = f.status();
    if (faultDetail) *faultDetail = f.what();
  } catch (const std::bad_alloc&) {
    status = ndr::kOutOfMemory;
    if (faultDetail) *faultDetail = "out of memory";
  } catch (const std::exception& e) {
    status = ndr::kCallFailed;
    if (faultDetail) *faultDetail = e.what();
  }
  if (stats) *stats = call.stats();
  return status;
}

void InProcessServer::registerInterface(RPC_IF_HANDLE handle, const void* epv) {
  interfaces_.push_back({&spec(handle), epv});
}

handle_t InProcessServer::bind() {
  auto b = std::make_unique<Binding>();
  b->transport = this;
  b->limits = limits;
  bindings_.push_back(std::move(b));
  return bindings_.back().get();
}

void InProcessServer::call(const InterfaceSpec& client, std::uint32_t opnum,
                           std::span<const std::uint8_t> request,
                           std::vector<std::uint8_t>& reply) {
  for (const Registered& r : interfaces_) {
    if (!sameInterface(r.spec->id, client.id)) continue;
    // The server reads its own copy, as it would after a network: no pointer crosses.
    lastRequest_.assign(request.begin(), request.end());
    std::vector<std::uint8_t> sent;
    std::string detail;
    std::uint32_t status = dispatch(*r.spec, r.epv, opnum, lastRequest_, sent, nullptr, limits,
                                    &last_, &detail, &contexts_);
    if (status != 0)
      throw ndr::Fault(status, fmt::format("server fault 0x{:x}: {}", status, detail),
                       ndr::Fault::Origin::kServer);
    reply = std::move(sent);
    return;
  }
  throw ndr::Fault(ndr::kUnknownInterface, fmt::format("no interface {} here", client.name),
                   ndr::Fault::Origin::kCommunication);
}

}  // namespace warden::stub

// Warden's default allocator pair; an application's own definitions take their place.
extern "C" __attribute__((weak)) void* midl_user_allocate(size_t bytes) {
  return std::malloc(bytes == 0 ? 1 : bytes);
}
extern "C" __attribute__((weak)) void midl_user_free(void* block) { std::free(block); }
