// What the built-in experts share, all of it over expert.h's helpers: an allocator that puts
// standard containers in the run's host memory (so the host reclaims them whatever happens), a
// guard that turns a refusal or an exception into a failed Run instead of letting it cross the C
// boundary, a frame loop that reports progress and stops when the host terminates the run, and an
// event row builder.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string_view>

#include "decode/decoder.h"
#include "warden/expert.h"

namespace warden::experts::builtin::kit {

// Thrown by HostAllocator when the host refuses memory (quota, termination); caught by guard().
struct HostRefused {};

// A standard allocator over WardenAllocMemory/WardenFreeMemory of one run.
template <class T>
struct HostAllocator {
  using value_type = T;
  WardenKey key;
  explicit HostAllocator(WardenKey k) : key(k) {}
  template <class U>
  HostAllocator(const HostAllocator<U>& other) : key(other.key) {}
  T* allocate(std::size_t n) {
    if (n > SIZE_MAX / sizeof(T)) throw HostRefused{};
    void* p = WardenAllocMemory(key, n * sizeof(T), nullptr);
    if (p == nullptr) throw HostRefused{};
    return static_cast<T*>(p);
  }
  // After an abort the host answers TERMINATE and frees the block itself when the run ends.
  void deallocate(T* p, std::size_t) { WardenFreeMemory(key, p); }
  template <class U>
  bool operator==(const HostAllocator<U>& other) const {
    return key == other.key;
  }
};

// Runs an expert body; a host refusal or an exception fails the run (with a PROBLEM status that
// says why) instead of crossing the C ABI.
template <class Body>
int guard(WardenKey key, Body&& body) {
  try {
    return body();
  } catch (const HostRefused&) {
    return 0;
  } catch (const std::bad_alloc&) {
    WardenIndicateStatus(key, WARDEN_STATUS_PROBLEM, 0, "out of memory", 0);
    return 0;
  } catch (const std::exception& e) {
    WardenIndicateStatus(key, WARDEN_STATUS_PROBLEM, 0, e.what(), 0);
    return 0;
  }
}

// Register's whole job: the expert's name, description and flags (vendor Warden, version 1).
inline int describe(WardenExpertInfo* info, const char* name, const char* description,
                    std::uint32_t flags) {
  std::snprintf(info->name, sizeof info->name, "%s", name);
  std::snprintf(info->vendor, sizeof info->vendor, "%s", "Warden");
  std::snprintf(info->description, sizeof info->description, "%s", description);
  info->version = 1;
  info->flags = flags;
  return 1;
}

// Says why Configure or Run gives up (a PROBLEM status the host reports) and returns 0.
inline int refuse(WardenKey key, const char* why) {
  WardenIndicateStatus(key, WARDEN_STATUS_PROBLEM, 0, why, 0);
  return 0;
}

// Configure's last step: a copy of `config` (whose first member is its length) in host memory,
// handed to the host through `out`. 0 when the host refused the memory.
template <class Config>
int handOver(WardenKey key, const Config& config, WardenExpertConfig** out) {
  auto* blob = static_cast<Config*>(WardenAllocMemory(key, sizeof(Config), nullptr));
  if (blob == nullptr) return 0;
  std::memcpy(blob, &config, sizeof config);
  *out = reinterpret_cast<WardenExpertConfig*>(blob);
  return 1;
}

// Calls fn(frame) for every frame that passes the run's filter, in order, reporting progress.
// True at the end of the capture; false when the host terminated the run or fn returned false.
template <class Fn>
bool forEachFrame(WardenKey key, const WardenStartupInfo* startup, std::uint32_t flags, Fn&& fn) {
  std::uint64_t total = startup != nullptr && startup->frameCount ? startup->frameCount : 1;
  int lastPercent = 0;
  WardenFrameDescriptor frame;
  std::uint32_t number = UINT32_MAX;
  std::uint32_t rc;
  while ((rc = WardenGetFrame(key, WARDEN_FRAME_NEXT_FORWARD, WARDEN_FRAME_APPLY_RUN_FILTER | flags,
                              number, nullptr, &frame)) == WARDEN_OK) {
    number = frame.frameNumber;
    if (!fn(frame)) return false;
    int pct = static_cast<int>(static_cast<std::uint64_t>(number) * 100 / total);
    if (pct > lastPercent && pct <= 99) {
      lastPercent = pct;
      if (WardenIndicateStatus(key, WARDEN_STATUS_RUNNING, 0, nullptr, pct) != WARDEN_OK)
        return false;
    }
  }
  return rc == WARDEN_ERR_NO_MORE_FRAMES;
}

// Decodes a frame the host handed out (the built-ins parse the bytes themselves, as a plug-in
// linking a parser would: attaching the whole field table costs more than they need).
inline void decode(const WardenFrameDescriptor& frame, decode::DecodedFrame& out) {
  decode::decodeFrame({reinterpret_cast<const std::byte*>(frame.data), frame.capturedLength},
                      static_cast<std::uint16_t>(frame.linkType), frame.wireLength, out);
}

// A hash for the built-ins' table keys (addresses, ports, ids): mixes whole 64-bit words, where
// byte-at-a-time FNV costs a multiply per byte; the final avalanche suits power-of-two masks.
class Hash {
 public:
  Hash& add(std::uint64_t v) {
    h_ = (h_ ^ v) * 0x9e3779b97f4a7c15ull;
    h_ ^= h_ >> 29;
    return *this;
  }
  Hash& add(const void* data, std::size_t size) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    for (; size >= 8; p += 8, size -= 8) {
      std::uint64_t word;
      std::memcpy(&word, p, 8);
      add(word);
    }
    std::uint64_t tail = size;
    for (std::size_t i = 0; i < size; ++i) tail = tail << 8 | p[i];
    return add(tail);
  }
  Hash& add(const decode::Address& a) { return add(a.bytes.data(), a.bytes.size()).add(a.family); }
  std::size_t value() const {
    std::uint64_t h = (h_ ^ (h_ >> 32)) * 0xd6e8feb86659fd93ull;
    return static_cast<std::size_t>(h ^ (h >> 32));
  }

 private:
  std::uint64_t h_ = 0x243f6a8885a308d3ull;
};

// One event row, built column by column and submitted; columns reset after each submit.
class Row {
 public:
  Row(WardenKey key, std::uint32_t id, const char* name,
      WardenSeverity severity = WARDEN_SEVERITY_INFORMATIONAL)
      : key_(key) {
    std::memset(&event_, 0, sizeof event_);
    event_.id = id;
    event_.eventName = name;
    event_.severity = severity;
    event_.columns = columns_.data();
  }
  Row& u32(const char* name, std::uint32_t v) {
    return add(name, WARDEN_COLUMN_U32).value.u32 = v, *this;
  }
  Row& u16(const char* name, std::uint16_t v) {
    return add(name, WARDEN_COLUMN_U16).value.u16 = v, *this;
  }
  Row& f64(const char* name, double v) { return add(name, WARDEN_COLUMN_F64).value.f64 = v, *this; }
  // Counts that may pass 2^32 on a large capture.
  Row& count(const char* name, std::uint64_t v) { return f64(name, static_cast<double>(v)); }
  Row& frame(const char* name, std::uint64_t v) {
    return add(name, WARDEN_COLUMN_FRAME).value.frame = static_cast<std::uint32_t>(v), *this;
  }
  Row& text(const char* name, const char* v) {
    return add(name, WARDEN_COLUMN_STRING).value.string = v, *this;
  }
  Row& time(const char* name, std::int64_t ns) {
    return add(name, WARDEN_COLUMN_TIME).value.timeNs = ns, *this;
  }
  Row& yesNo(const char* name, bool v) {
    return add(name, WARDEN_COLUMN_YESNO).value.flag = v, *this;
  }
  Row& address(const char* name, const decode::Address& a) {
    WardenColumn& c = add(name, a.family == 6 ? WARDEN_COLUMN_IPV6 : WARDEN_COLUMN_IPV4);
    std::memcpy(a.family == 6 ? c.value.ipv6 : c.value.ipv4, a.bytes.data(),
                a.family == 6 ? 16 : 4);
    return *this;
  }
  Row& at(std::int64_t timestampNs) { return event_.timestampNs = timestampNs, *this; }
  // False when the host refused the event (terminated, or over its event limit).
  bool submit() {
    event_.columnCount = count_;
    std::uint32_t rc = WardenSubmitEvent(key_, &event_);
    count_ = 0;
    event_.timestampNs = 0;
    return rc == WARDEN_OK;
  }

 private:
  WardenColumn& add(const char* name, WardenColumnType type) {
    WardenColumn& c = columns_[count_ < columns_.size() ? count_++ : columns_.size() - 1];
    std::memset(&c, 0, sizeof c);
    c.name = name;
    c.type = type;
    return c;
  }
  WardenKey key_;
  WardenEvent event_;
  std::array<WardenColumn, 24> columns_;
  std::uint32_t count_ = 0;
};

}  // namespace warden::experts::builtin::kit
