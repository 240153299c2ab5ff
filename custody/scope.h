// Scope: everything one owner holds (one expert run, one RPC call), as a Heap for memory and a
// Ledger for other resources. Releasing the scope runs the ledger newest first, then frees all
// memory, and reports what was taken back. Child scopes are ledger entries of their parent, so a
// parent releases them (newest first) before its own earlier closers and its memory.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "custody/heap.h"
#include "custody/ledger.h"

namespace warden::custody {

struct ReleaseReport {
  Reclaimed memory;  // live when the release began, children included
  std::size_t closersRun = 0;
  std::vector<CloserFailure> closerFailures;
  bool clean() const { return closerFailures.empty(); }
};

class Scope {
 public:
  // A root scope with its own heap (options.name defaults to the owner's name).
  explicit Scope(std::string owner, HeapOptions options = {});
  // Releases; closer failures nobody collected go to stderr.
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

  Heap& heap() { return *heap_; }
  Ledger& ledger() { return ledger_; }
  const std::string& owner() const { return ledger_.owner(); }

  // A child scope whose heap is a child of this one's (quota and stats count toward this scope)
  // and whose release is a closer of this scope's ledger.
  Result<Scope*> createChild(std::string owner, HeapOptions options = {});
  // Releases and destroys a child now. NotFound when it is not a live child.
  Status destroyChild(Scope* child);

  // Runs the closers (newest first), then frees every block. The scope stays usable afterwards.
  ReleaseReport release() noexcept;

 private:
  struct ChildTag {};
  Scope(ChildTag, Scope* parent, Heap* heap, std::string owner);

  std::optional<Heap> ownHeap_;  // roots only; a child's heap lives in its parent's heap
  Heap* heap_;
  Ledger ledger_;
  Scope* parent_ = nullptr;
  Ledger::Entry entryInParent_ = 0;
};

}  // namespace warden::custody
