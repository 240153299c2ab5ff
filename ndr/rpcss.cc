// RpcSs/RpcSm over custody heaps. A thread's environment is either one it enabled itself
// (RpcSsEnableAllocate: owned here, released by RpcSsDisableAllocate or when the thread ends),
// one a server stub set up for the call, or one another thread handed it (RpcSsSetThreadHandle).
#include "ndr/rpcss.h"

#include <cstdlib>

namespace warden::stub {

namespace {

thread_local SsEnvironment* current = nullptr;
thread_local std::unique_ptr<SsEnvironment> owned;  // RpcSsEnableAllocate's

constexpr RPC_STATUS kOk = 0;
constexpr RPC_STATUS kOutOfMemory = static_cast<RPC_STATUS>(ndr::kOutOfMemory);
constexpr RPC_STATUS kInvalidArgument = 87;  // ERROR_INVALID_PARAMETER

}  // namespace

SsEnvironment* currentSsEnvironment() { return current; }

AllocFree& clientAllocFree() {
  thread_local AllocFree pair;
  return pair;
}

namespace detail {

std::unique_ptr<SsEnvironment> newSsEnvironment() { return std::make_unique<SsEnvironment>(); }

SsEnvironment* enterSsEnvironment(SsEnvironment* environment) {
  SsEnvironment* before = current;
  current = environment;
  return before;
}

void leaveSsEnvironment(SsEnvironment* previous) { current = previous; }

bool ssOwns(const SsEnvironment& environment, const void* p) { return environment.heap.owns(p); }

}  // namespace detail
}  // namespace warden::stub

using warden::stub::SsEnvironment;

extern "C" {

void* RpcSmAllocate(size_t size, RPC_STATUS* status) {
  SsEnvironment* env = warden::stub::currentSsEnvironment();
  if (env == nullptr) {
    if (status) *status = warden::stub::kInvalidArgument;  // not enabled on this thread
    return nullptr;
  }
  void* p = env->heap.alloc(size);
  if (status) *status = p ? warden::stub::kOk : warden::stub::kOutOfMemory;
  return p;
}

void* RpcSsAllocate(size_t size) {
  RPC_STATUS status = 0;
  void* p = RpcSmAllocate(size, &status);
  if (p == nullptr) {
    throw warden::ndr::Fault(static_cast<std::uint32_t>(status),
                             status == warden::stub::kOutOfMemory
                                 ? "RpcSsAllocate: out of memory"
                                 : "RpcSsAllocate: no RpcSs environment on this thread");
  }
  return p;
}

RPC_STATUS RpcSmFree(void* block) {
  SsEnvironment* env = warden::stub::currentSsEnvironment();
  if (env == nullptr) return warden::stub::kInvalidArgument;
  return env->heap.free(block).ok() ? warden::stub::kOk : warden::stub::kInvalidArgument;
}

void RpcSsFree(void* block) { (void)RpcSmFree(block); }

RPC_STATUS RpcSmEnableAllocate(void) {
  if (warden::stub::currentSsEnvironment() != nullptr) return warden::stub::kOk;
  warden::stub::owned = warden::stub::detail::newSsEnvironment();
  warden::stub::detail::enterSsEnvironment(warden::stub::owned.get());
  return warden::stub::kOk;
}

void RpcSsEnableAllocate(void) { (void)RpcSmEnableAllocate(); }

RPC_STATUS RpcSmDisableAllocate(void) {
  // Releases the thread's own environment and everything allocated in it; an environment a stub
  // or another thread provided is only left.
  if (warden::stub::currentSsEnvironment() == warden::stub::owned.get()) {
    warden::stub::owned.reset();
  }
  warden::stub::detail::leaveSsEnvironment(nullptr);
  return warden::stub::kOk;
}

void RpcSsDisableAllocate(void) { (void)RpcSmDisableAllocate(); }

RPC_SS_THREAD_HANDLE RpcSmGetThreadHandle(RPC_STATUS* status) {
  if (status) *status = warden::stub::kOk;
  return warden::stub::currentSsEnvironment();
}

RPC_SS_THREAD_HANDLE RpcSsGetThreadHandle(void) { return RpcSmGetThreadHandle(nullptr); }

RPC_STATUS RpcSmSetThreadHandle(RPC_SS_THREAD_HANDLE handle) {
  warden::stub::detail::enterSsEnvironment(static_cast<SsEnvironment*>(handle));
  return warden::stub::kOk;
}

void RpcSsSetThreadHandle(RPC_SS_THREAD_HANDLE handle) { (void)RpcSmSetThreadHandle(handle); }

RPC_STATUS RpcSmSwapClientAllocFree(void* (*allocate)(size_t), void (*release)(void*),
                                    void* (**oldAllocate)(size_t), void (**oldRelease)(void*)) {
  warden::stub::AllocFree& pair = warden::stub::clientAllocFree();
  if (oldAllocate) *oldAllocate = pair.allocate;
  if (oldRelease) *oldRelease = pair.free;
  pair.allocate = allocate;
  pair.free = release;
  return warden::stub::kOk;
}

void RpcSsSwapClientAllocFree(void* (*allocate)(size_t), void (*release)(void*),
                              void* (**oldAllocate)(size_t), void (**oldRelease)(void*)) {
  (void)RpcSmSwapClientAllocFree(allocate, release, oldAllocate, oldRelease);
}

RPC_STATUS RpcSmSetClientAllocFree(void* (*allocate)(size_t), void (*release)(void*)) {
  return RpcSmSwapClientAllocFree(allocate, release, nullptr, nullptr);
}

void RpcSsSetClientAllocFree(void* (*allocate)(size_t), void (*release)(void*)) {
  (void)RpcSmSetClientAllocFree(allocate, release);
}

}  // extern "C"
