// Objects in a Heap: make<T>/destroy<T> construct and destroy in place, and Owned<T> is the
// unique owner that knows its heap (a unique_ptr whose deleter is the heap). An Owned must be
// destroyed before its heap is released; ASan reports one that is not, since released slabs are
// poisoned.
#pragma once

#include <new>
#include <type_traits>
#include <utility>

#include "custody/heap.h"

namespace warden::custody {

// Constructs a T in a new block of `heap`; the refusal reason when the heap refuses. A throwing
// constructor frees the block and rethrows.
template <typename T, typename... Args>
Result<T*> make(Heap& heap, Args&&... args) {
  static_assert(alignof(T) <= kBlockAlignment, "over-aligned types need their own allocator");
  Status why;
  void* p = heap.alloc(sizeof(T), &why);
  if (p == nullptr) return why;
  // Aggregates are brace-initialised: clang 14 lacks C++20's parenthesised aggregate init.
  auto construct = [&]() -> T* {
    if constexpr (std::is_aggregate_v<T>) {
      return new (p) T{std::forward<Args>(args)...};
    } else {
      return new (p) T(std::forward<Args>(args)...);
    }
  };
  try {
    return construct();
  } catch (...) {
    heap.free(p).ignore();
    throw;
  }
}

// Runs ~T and frees the block. InvalidArgument (and nothing run) when `heap` does not own it.
template <typename T>
Status destroy(Heap& heap, T* object) {
  if (object == nullptr) return Status();
  if (!heap.owns(object)) {
    return InvalidArgumentError("heap '{}' does not own the object at {}", heap.name(),
                                static_cast<const void*>(object));
  }
  object->~T();
  return heap.free(object);
}

template <typename T>
class Owned {
 public:
  Owned() = default;
  Owned(Owned&& other) noexcept
      : heap_(std::exchange(other.heap_, nullptr)),
        object_(std::exchange(other.object_, nullptr)) {}
  Owned& operator=(Owned&& other) noexcept {
    if (this != &other) {
      reset();
      heap_ = std::exchange(other.heap_, nullptr);
      object_ = std::exchange(other.object_, nullptr);
    }
    return *this;
  }
  ~Owned() { reset(); }

  T* get() const { return object_; }
  T& operator*() const { return *object_; }
  T* operator->() const { return object_; }
  explicit operator bool() const { return object_ != nullptr; }
  Heap* heap() const { return heap_; }

  // Gives up ownership; the caller destroys the object with destroy(*heap(), p).
  T* release() {
    heap_ = nullptr;
    return std::exchange(object_, nullptr);
  }
  void reset() {
    if (object_ != nullptr) destroy(*heap_, object_).ignore();
    heap_ = nullptr;
    object_ = nullptr;
  }

 private:
  template <typename U, typename... Args>
  friend Result<Owned<U>> makeOwned(Heap& heap, Args&&... args);
  Owned(Heap* heap, T* object) : heap_(heap), object_(object) {}

  Heap* heap_ = nullptr;
  T* object_ = nullptr;
};

template <typename T, typename... Args>
Result<Owned<T>> makeOwned(Heap& heap, Args&&... args) {
  WARDEN_ASSIGN_OR_RETURN(T * object, make<T>(heap, std::forward<Args>(args)...));
  return Owned<T>(&heap, object);
}

}  // namespace warden::custody
