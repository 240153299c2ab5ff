// AddressMap growth and deletion (linear probing with backward-shift deletion, no tombstones).
#include "custody/address_map.h"

#include <bit>

namespace warden::custody::detail {

bool AddressMap::insert(std::uintptr_t key, std::uint64_t value) noexcept {
  if (std::uint64_t* existing = find(key)) {
    *existing = value;
    return true;
  }
  // Keep the load factor at or under one half so probes stay short.
  if ((size_ + 1) * 2 > (slots_ ? mask_ + 1 : 0) && !grow()) return false;
  std::size_t i = slotOf(key);
  while (slots_[i].key != 0) i = (i + 1) & mask_;
  slots_[i] = Slot{key, value};
  ++size_;
  return true;
}

bool AddressMap::erase(std::uintptr_t key) noexcept {
  if (size_ == 0) return false;
  std::size_t i = slotOf(key);
  while (slots_[i].key != key) {
    if (slots_[i].key == 0) return false;
    i = (i + 1) & mask_;
  }
  // Shift later members of the probe run back so no lookup ever stops early at the hole.
  for (std::size_t j = (i + 1) & mask_; slots_[j].key != 0; j = (j + 1) & mask_) {
    std::size_t home = slotOf(slots_[j].key);
    bool homeOutsideHoleToJ = i <= j ? (home <= i || home > j) : (home <= i && home > j);
    if (homeOutsideHoleToJ) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i].key = 0;
  --size_;
  return true;
}

bool AddressMap::grow() noexcept {
  std::size_t capacity = slots_ ? (mask_ + 1) * 2 : 16;
  std::unique_ptr<Slot[], FreeDeleter> bigger(
      static_cast<Slot*>(std::calloc(capacity, sizeof(Slot))));
  if (!bigger) return false;
  std::unique_ptr<Slot[], FreeDeleter> old = std::move(slots_);
  std::size_t oldCapacity = old ? mask_ + 1 : 0;
  slots_ = std::move(bigger);
  mask_ = capacity - 1;
  shift_ = 64 - static_cast<unsigned>(std::countr_zero(capacity));
  for (std::size_t i = 0; i < oldCapacity; ++i) {
    if (old[i].key == 0) continue;
    std::size_t j = slotOf(old[i].key);
    while (slots_[j].key != 0) j = (j + 1) & mask_;
    slots_[j] = old[i];
  }
  return true;
}

}  // namespace warden::custody::detail
