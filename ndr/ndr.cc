// The NDR engine's out-of-line parts: buffer growth, the deferred-referent loops, array headers
// and the checks behind them, full-pointer bookkeeping and the allocators.
#include "warden/ndr.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <new>

namespace warden::ndr {

namespace {

// Runs deferred referents depth first: the pending referents of what was just written or read go
// on the stack in reverse, so the first comes off first and its own referents are handled before
// its next sibling.
template <typename Task, typename Self>
void runDeferred(std::vector<Task>& stack, std::vector<Task>& pending, Self& self) {
  for (;;) {
    while (!pending.empty()) {
      stack.push_back(pending.back());
      pending.pop_back();
    }
    if (stack.empty()) return;
    Task t = stack.back();
    stack.pop_back();
    t.fn(self, t.context);
  }
}

}  // namespace

void* BumpAllocator::allocate(std::size_t bytes) {
  auto at = reinterpret_cast<std::uintptr_t>(next_);
  std::size_t pad = (8 - (at & 7)) & 7;
  if (static_cast<std::size_t>(end_ - next_) < pad ||
      static_cast<std::size_t>(end_ - next_) - pad < bytes) {
    return nullptr;
  }
  std::byte* p = next_ + pad;
  next_ = p + bytes;
  return p;
}

MeasuringAllocator::~MeasuringAllocator() {
  for (void* p : scratch_) std::free(p);
}

void* MeasuringAllocator::allocate(std::size_t bytes) {
  void* p = std::malloc(bytes == 0 ? 1 : bytes);
  if (p == nullptr) return nullptr;
  scratch_.push_back(p);
  total_ += (bytes + 7) & ~std::size_t{7};
  return p;
}

std::uint32_t FullPointerTable::marshal(const void* p, Direction direction, bool& referentFollows) {
  auto [it, inserted] = ids_.try_emplace(p, 0);
  if (inserted) {
    while (byId_.count(next_)) ++next_;
    it->second = next_++;
    byId_[it->second].address = const_cast<void*>(p);
  }
  Node& node = byId_[it->second];
  referentFollows = (node.marshalled & direction) == 0;
  node.marshalled |= direction;
  return it->second;
}

FullPointerTable::Node* FullPointerTable::find(std::uint32_t id) {
  auto it = byId_.find(id);
  return it == byId_.end() ? nullptr : &it->second;
}

FullPointerTable::Node& FullPointerTable::insert(std::uint32_t id, void* address) {
  Node& node = byId_[id];
  node.address = address;
  ids_[address] = id;
  return node;
}

void FullPointerTable::place(std::uint32_t id, void* address) {
  byId_[id].address = address;
  ids_[address] = id;
}

// Encoder

void Encoder::reserve(std::size_t n) {
  std::size_t want = std::max<std::size_t>({capacity_ * 2, size_ + n, 256});
  auto* grown = static_cast<std::uint8_t*>(std::realloc(data_, want));
  if (grown == nullptr) throw Fault(kOutOfMemory, "out of memory while marshalling");
  data_ = grown;
  capacity_ = want;
}

void Encoder::putEnum16(std::int64_t v, const char* field) {
  if (v < 0 || v > 32767) {
    throw Fault(kEnumValueOutOfRange,
                fmt::format("{}: enum value {} does not fit NDR's 16-bit enum", field, v));
  }
  put<std::uint16_t>(static_cast<std::uint16_t>(v));
}

void Encoder::refId(const void* p, const char* field) {
  if (p == nullptr) throw Fault(kNullRefPointer, fmt::format("{}: a [ref] pointer is null", field));
  put<std::uint32_t>(kUniqueBase + 4 * uniqueCount_++);
  visit(p);
}

bool Encoder::fullId(const void* p) {
  if (p == nullptr) {
    put<std::uint32_t>(0);
    return false;
  }
  if (full_ == nullptr) throw Fault(kCallFailed, "a [ptr] pointer without a full-pointer table");
  bool follows = false;
  put<std::uint32_t>(full_->marshal(p, direction_, follows));
  if (follows) visit(p);
  return follows;
}

void Encoder::drain() { runDeferred(stack_, pending_, *this); }

// Decoder

void Decoder::fail(const char* field, const char* what, std::size_t needed) {
  throw Fault(kBadStubData,
              fmt::format("stub data offset {}: {}{}{} needs {} bytes, {} left", pos_,
                          field ? field : "", field ? " " : "", what, needed, size_ - pos_));
}

void Decoder::invalid(std::uint32_t status, const char* field, const std::string& why) {
  throw Fault(status, fmt::format("stub data offset {}: {}: {}", pos_, field ? field : "?", why));
}

std::int16_t Decoder::getEnum16(const char* field) {
  auto v = get<std::uint16_t>(field);
  if (v > 32767) invalid(kEnumValueOutOfRange, field, fmt::format("enum value {}", v));
  return static_cast<std::int16_t>(v);
}

std::uint32_t Decoder::conformance(const char* field) {
  auto n = get<std::uint32_t>(field);
  if (n > limits_.maxElements) {
    invalid(kBadStubData, field,
            fmt::format("max_count {} is past the limit of {} elements", n, limits_.maxElements));
  }
  return n;
}

std::uint32_t Decoder::variance(std::uint32_t maxCount, std::size_t wireSize, const char* field) {
  auto offset = get<std::uint32_t>(field);
  auto actual = get<std::uint32_t>(field);
  if (offset > maxCount || actual > maxCount - offset) {
    invalid(
        kBadStubData, field,
        fmt::format("offset {} + actual_count {} is past max_count {}", offset, actual, maxCount));
  }
  if (offset != 0) {
    // Stubs here transmit whole arrays from the start; a peer's first_is > 0 would need the
    // array's storage laid out from `offset`, which the generated code does not ask for.
    invalid(kBadStubData, field, fmt::format("offset {} is not 0", offset));
  }
  needElements(actual, wireSize, field);
  return actual;
}

void Decoder::needElements(std::uint64_t count, std::size_t wireSize, const char* field) {
  if (wireSize != 0 && count > remaining() / wireSize) {
    invalid(kBadStubData, field,
            fmt::format("{} elements of {} bytes do not fit the {} bytes left", count, wireSize,
                        remaining()));
  }
}

void Decoder::expectEqual(std::uint64_t wire, std::uint64_t expected, const char* field) {
  if (wire != expected) {
    invalid(kBadStubData, field,
            fmt::format("the wire says {}, the IDL's expression gives {}", wire, expected));
  }
}

void Decoder::checkRange(std::int64_t v, std::int64_t lo, std::int64_t hi, const char* field) {
  if (v < lo || v > hi) {
    invalid(kInvalidBound, field, fmt::format("{} is outside [range({}, {})]", v, lo, hi));
  }
}

void* Decoder::allocate(std::size_t bytes, const char* field, bool zeroed) {
  if (bytes > limits_.maxAllocationBytes - std::min(allocated_, limits_.maxAllocationBytes)) {
    invalid(kBadStubData, field,
            fmt::format("{} more bytes would pass the call's limit of {} (already {})", bytes,
                        limits_.maxAllocationBytes, allocated_));
  }
  void* p = allocator_->allocate(bytes);
  if (p == nullptr) {
    // A byte_count buffer that is full is the caller's to grow; anything else is memory.
    invalid(dynamic_cast<BumpAllocator*>(allocator_) ? kByteCountTooSmall : kOutOfMemory, field,
            fmt::format("{} bytes refused", bytes));
  }
  allocated_ += bytes;
  if (zeroed) std::memset(p, 0, bytes);
  return p;
}

void Decoder::refId(const char* field) {
  if (get<std::uint32_t>(field) == 0) {
    invalid(kBadStubData, field, "an embedded [ref] pointer is null");
  }
}

bool Decoder::fullNode(void*& slot, std::size_t bytes, const char* field) {
  auto id = get<std::uint32_t>(field);
  if (id == 0) {
    slot = nullptr;
    return false;
  }
  if (full_ == nullptr) invalid(kBadStubData, field, "a [ptr] pointer without a table");
  FullPointerTable::Node* node = full_->find(id);
  if (node != nullptr) {
    slot = node->address;
    bool follows = (node->unmarshalled & direction_) == 0;
    node->unmarshalled |= direction_;
    // The other direction's first sight of a node carries its referent: read it in place.
    return follows;
  }
  // A node this call has not seen: new memory, even where the caller had a node (that one may
  // still be reachable through another alias; the caller decides).
  void* fresh = allocate(bytes, field);
  full_->insert(id, fresh).unmarshalled |= direction_;
  slot = fresh;
  return true;
}

bool Decoder::fullSized(void* slotAddress, const char* field) {
  auto id = get<std::uint32_t>(field);
  void* address = nullptr;
  bool follows = false;
  if (id != 0) {
    if (full_ == nullptr) invalid(kBadStubData, field, "a [ptr] pointer without a table");
    if (FullPointerTable::Node* node = full_->find(id)) {
      address = node->address;
      follows = (node->unmarshalled & direction_) == 0;
      node->unmarshalled |= direction_;
      // Its referent is still being read: the slot gets the memory when that is placed.
      if (address == nullptr) waiting_.push_back({slotAddress, id});
    } else {
      full_->reserve(id).unmarshalled |= direction_;
      unplaced_.push_back({slotAddress, id});
      follows = true;
    }
  }
  std::memcpy(slotAddress, &address, sizeof address);
  return follows;
}

void Decoder::fullPlaced(void* slotAddress, void* memory) {
  for (std::size_t k = unplaced_.size(); k-- > 0;) {
    if (unplaced_[k].address != slotAddress) continue;
    const std::uint32_t id = unplaced_[k].id;
    unplaced_.erase(unplaced_.begin() + static_cast<std::ptrdiff_t>(k));
    full_->place(id, memory);
    std::erase_if(waiting_, [&](const Slot& w) {
      if (w.id != id) return false;
      std::memcpy(w.address, &memory, sizeof memory);
      return true;
    });
    return;
  }
}

void Decoder::drain() { runDeferred(stack_, pending_, *this); }

void Decoder::finish() {
  if (remaining() >= 8) {
    invalid(kBadStubData, "stub data", fmt::format("{} bytes left unread", remaining()));
  }
}

}  // namespace warden::ndr
