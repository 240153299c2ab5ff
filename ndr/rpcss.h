// The RpcSs environment behind warden/rpc.h's RpcSs*/RpcSm* functions and ServerCall's
// [enable_allocate]: a thread-safe custody heap, and which one the calling thread uses.
#pragma once

#include <memory>

#include "custody/heap.h"
#include "warden/stub.h"

namespace warden::stub {

struct SsEnvironment {
  custody::Heap heap{custody::HeapOptions{.name = "RpcSs", .threadSafe = true}};
};

namespace detail {

std::unique_ptr<SsEnvironment> newSsEnvironment();
// Makes `environment` the calling thread's; returns the one it replaces.
SsEnvironment* enterSsEnvironment(SsEnvironment* environment);
void leaveSsEnvironment(SsEnvironment* previous);
bool ssOwns(const SsEnvironment& environment, const void* p);

}  // namespace detail
}  // namespace warden::stub
