// AddressMap: a small open-addressing hash map from addresses to 64-bit values.
// It is how a Heap knows, without touching the memory, whether a pointer is one of its slabs or
// large blocks. Its table comes from calloc so a refusal is a clean `false`, never an exception.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace warden::custody::detail {

class AddressMap {
 public:
  AddressMap() = default;
  AddressMap(const AddressMap&) = delete;
  AddressMap& operator=(const AddressMap&) = delete;

  std::size_t size() const { return size_; }

  // Inserts or overwrites. False when the table could not grow (the map is unchanged).
  bool insert(std::uintptr_t key, std::uint64_t value) noexcept;

  // The value stored for key, or null.
  std::uint64_t* find(std::uintptr_t key) noexcept {
    if (size_ == 0) return nullptr;
    for (std::size_t i = slotOf(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return &slots_[i].value;
      if (slots_[i].key == 0) return nullptr;
    }
  }
  const std::uint64_t* find(std::uintptr_t key) const noexcept {
    return const_cast<AddressMap*>(this)->find(key);
  }

  // Removes key; false when it was not there.
  bool erase(std::uintptr_t key) noexcept;

  // Calls f(key, value) for every entry; f must not change the map.
  template <typename F>
  void forEach(F&& f) const {
    for (std::size_t i = 0; size_ != 0 && i <= mask_; ++i) {
      if (slots_[i].key != 0) f(slots_[i].key, slots_[i].value);
    }
  }

  // Forgets every entry and returns the table's memory.
  void clear() noexcept {
    slots_.reset();
    mask_ = 0;
    size_ = 0;
  }

 private:
  struct Slot {
    std::uintptr_t key;  // 0 marks an empty slot; no block or slab lives at address 0
    std::uint64_t value;
  };
  struct FreeDeleter {
    void operator()(Slot* p) const { std::free(p); }
  };

  std::size_t slotOf(std::uintptr_t key) const {
    // Fibonacci hashing: the high bits of the product mix every bit of the (aligned) address.
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_) & mask_;
  }
  bool grow() noexcept;

  std::unique_ptr<Slot[], FreeDeleter> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  unsigned shift_ = 64;
};

}  // namespace warden::custody::detail
