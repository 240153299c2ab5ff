// Scope release order and child scopes.
#include "custody/scope.h"

#include <new>

namespace warden::custody {
namespace {

HeapOptions named(HeapOptions options, const std::string& owner) {
  if (options.name == HeapOptions{}.name) options.name = owner;
  return options;
}

}  // namespace

Scope::Scope(std::string owner, HeapOptions options) : ledger_(owner) {
  ownHeap_.emplace(named(std::move(options), owner));
  heap_ = &*ownHeap_;
}

Scope::Scope(ChildTag, Scope* parent, Heap* heap, std::string owner)
    : heap_(heap), ledger_(std::move(owner)), parent_(parent) {}

Scope::~Scope() {
  ReleaseReport report = release();
  for (const CloserFailure& failure : report.closerFailures) reportToStderr(owner(), failure);
}

ReleaseReport Scope::release() noexcept {
  ReleaseReport report;
  HeapStats before = heap_->stats();
  report.memory = Reclaimed{before.liveBytes, before.liveBlocks};
  SweepReport swept = ledger_.sweep();
  report.closersRun = swept.ran;
  report.closerFailures = std::move(swept.failures);
  heap_->releaseAll();
  return report;
}

Result<Scope*> Scope::createChild(std::string owner, HeapOptions options) {
  Status why;
  Heap* childHeap = heap_->createChild(named(std::move(options), owner), &why);
  if (childHeap == nullptr)
    return std::move(why).addContext(fmt::format("child scope '{}'", owner));
  void* memory = heap_->alloc(sizeof(Scope), &why);
  if (memory == nullptr) {
    heap_->destroyChild(childHeap).ignore();
    return std::move(why).addContext(fmt::format("child scope '{}'", owner));
  }
  auto* child = new (memory) Scope(ChildTag{}, this, childHeap, owner);
  child->entryInParent_ =
      ledger_.add("scope '" + owner + "'", [this, child, childHeap]() -> Status {
        ReleaseReport report = child->release();
        std::string failures;
        for (const CloserFailure& failure : report.closerFailures) {
          failures += fmt::format("{}'{}': {}", failures.empty() ? "" : "; ", failure.name,
                                  failure.status.toString());
        }
        child->~Scope();
        heap_->free(child).ignore();
        heap_->destroyChild(childHeap).ignore();
        if (failures.empty()) return Status();
        return Status(
            report.closerFailures.front().status.code(),
            fmt::format("{} closer(s) failed: {}", report.closerFailures.size(), failures));
      });
  return child;
}

Status Scope::destroyChild(Scope* child) {
  if (child == nullptr || child->parent_ != this) {
    return NotFoundError("scope '{}': not a child scope", owner());
  }
  return ledger_.close(child->entryInParent_);
}

}  // namespace warden::custody
