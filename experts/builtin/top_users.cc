// Top Users: the top N senders and receivers by bytes (or frames) for one address kind, as
// tshark's "-z endpoints" Tx and Rx columns count them (frame.len, every frame with that address
// as source or destination), plus the top conversations (address pairs, both directions). It
// decodes the frames the host hands it (the field table would cost more than the four addresses
// it needs). Its tables live in host memory: open-addressing hash tables.
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "experts/builtin/builtins.h"
#include "experts/builtin/expert_kit.h"

namespace warden::experts::builtin {

namespace {

enum class Kind { kMac, kIpv4, kIpv6, kIp };

struct Address {
  std::uint8_t family;  // 0 empty slot, 1 MAC, 4, 6
  std::uint8_t bytes[16];
};

bool same(const Address& a, const Address& b) {
  return a.family == b.family && std::memcmp(a.bytes, b.bytes, 16) == 0;
}

std::size_t hashOf(const Address& a, const Address& b) {
  return kit::Hash()
      .add(a.bytes, sizeof a.bytes)
      .add(a.family)
      .add(b.bytes, sizeof b.bytes)
      .add(b.family)
      .value();
}

struct Entry {
  Address a, b;  // b is unused (family 0) for endpoints
  std::uint64_t framesAB, bytesAB, framesBA, bytesBA;
};

// An open-addressing table in host memory; null rows on refusal end the run.
struct Table {
  Entry* rows = nullptr;
  std::size_t capacity = 0;
  std::size_t count = 0;
};

bool grow(WardenKey key, Table& t);

Entry* find(WardenKey key, Table& t, const Address& a, const Address& b) {
  if ((t.count + 1) * 4 > t.capacity * 3 && !grow(key, t)) return nullptr;
  std::size_t mask = t.capacity - 1;
  for (std::size_t i = hashOf(a, b) & mask;; i = (i + 1) & mask) {
    Entry& e = t.rows[i];
    if (e.a.family == 0) {
      e.a = a;
      e.b = b;
      ++t.count;
      return &e;
    }
    if (same(e.a, a) && same(e.b, b)) return &e;
  }
}

bool grow(WardenKey key, Table& t) {
  std::size_t capacity = t.capacity ? t.capacity * 2 : 256;
  auto* rows = static_cast<Entry*>(WardenAllocMemory(key, capacity * sizeof(Entry), nullptr));
  if (rows == nullptr) return false;
  std::memset(rows, 0, capacity * sizeof(Entry));
  Table bigger{rows, capacity, 0};
  for (std::size_t i = 0; i < t.capacity; ++i) {
    if (t.rows[i].a.family != 0) *find(key, bigger, t.rows[i].a, t.rows[i].b) = t.rows[i];
  }
  if (t.rows) WardenFreeMemory(key, t.rows);
  t = bigger;
  return true;
}

// The frame's source and destination of the chosen kind, as the field table has them (eth.*,
// ip.*, ipv6.*: the outermost Ethernet header, the first IPv4 or IPv6 header).
bool addressesOf(const decode::DecodedFrame& d, Kind kind, Address& src, Address& dst) {
  std::memset(&src, 0, sizeof src);
  std::memset(&dst, 0, sizeof dst);
  auto ip = [&](const decode::Address& from, Address& to) {
    to.family = from.family;
    std::memcpy(to.bytes, from.bytes.data(), from.family == 6 ? 16 : 4);
  };
  switch (kind) {
    case Kind::kMac:
      if (!d.hasEthernet) return false;
      src.family = dst.family = 1;
      std::memcpy(src.bytes, d.ethSrc.data(), 6);
      std::memcpy(dst.bytes, d.ethDst.data(), 6);
      return true;
    case Kind::kIpv4:
      if (!d.ipv4.present) return false;
      ip(d.ipv4.src, src);
      ip(d.ipv4.dst, dst);
      return true;
    case Kind::kIpv6:
      if (!d.ipv6.present) return false;
      ip(d.ipv6.src, src);
      ip(d.ipv6.dst, dst);
      return true;
    case Kind::kIp:
      if (!d.ipv4.present && !d.ipv6.present) return false;
      ip(d.ipv4.present ? d.ipv4.src : d.ipv6.src, src);
      ip(d.ipv4.present ? d.ipv4.dst : d.ipv6.dst, dst);
      return true;
  }
  return false;
}

void column(WardenColumn& c, const char* name, const Address& a) {
  c.name = name;
  if (a.family == 1) {
    c.type = WARDEN_COLUMN_MAC;
    std::memcpy(c.value.mac, a.bytes, 6);
  } else if (a.family == 4) {
    c.type = WARDEN_COLUMN_IPV4;
    std::memcpy(c.value.ipv4, a.bytes, 4);
  } else {
    c.type = WARDEN_COLUMN_IPV6;
    std::memcpy(c.value.ipv6, a.bytes, 16);
  }
}

void column(WardenColumn& c, const char* name, std::uint64_t value) {
  c.name = name;
  c.type = WARDEN_COLUMN_F64;  // counts of a large capture pass 2^32
  c.value.f64 = static_cast<double>(value);
}

// Picks the top N entries by a score into `order` (indexes), highest first, ties by position.
std::size_t topN(WardenKey key, const Table& t, std::size_t n, bool byFrames, int side,
                 std::size_t** order) {
  auto score = [&](const Entry& e) {
    if (side == 0) return byFrames ? e.framesAB : e.bytesAB;            // sent
    if (side == 1) return byFrames ? e.framesBA : e.bytesBA;            // received
    return byFrames ? e.framesAB + e.framesBA : e.bytesAB + e.bytesBA;  // both
  };
  auto* picked =
      static_cast<std::size_t*>(WardenAllocMemory(key, (n + 1) * sizeof(std::size_t), nullptr));
  if (picked == nullptr) return SIZE_MAX;
  std::size_t count = 0;
  for (std::size_t i = 0; i < t.capacity; ++i) {
    const Entry& e = t.rows[i];
    if (e.a.family == 0 || score(e) == 0) continue;
    std::size_t at = count < n ? count++ : n;
    if (at == n && score(e) <= score(t.rows[picked[n - 1]])) continue;
    if (at == n) at = n - 1;
    while (at > 0 && score(t.rows[picked[at - 1]]) < score(e)) {
      picked[at] = picked[at - 1];
      --at;
    }
    picked[at] = i;
  }
  *order = picked;
  return count;
}

struct Config {
  std::uint32_t length;
  std::uint32_t kind;
  std::uint32_t top;
  std::uint32_t byFrames;
};

}  // namespace

int topusersRegister(WardenExpertInfo* info) {
  return kit::describe(
      info, "Top Users",
      "Top senders, receivers and conversations by bytes or frames, for MAC, IPv4 or IPv6 "
      "addresses (options address=mac|ipv4|ipv6|ip, top=N, sort=bytes|frames)",
      WARDEN_EXPERT_CONFIGURABLE);
}

int topusersConfigure(WardenKey key, WardenExpertConfig** out, const WardenStartupInfo*,
                      std::uint32_t) {
  Config config{sizeof(Config), static_cast<std::uint32_t>(Kind::kMac), 10, 0};
  char value[32];
  if (WardenGetOption(key, "address", value, sizeof value) == WARDEN_OK) {
    std::string_view v = value;
    if (v == "mac")
      config.kind = static_cast<std::uint32_t>(Kind::kMac);
    else if (v == "ipv4")
      config.kind = static_cast<std::uint32_t>(Kind::kIpv4);
    else if (v == "ipv6")
      config.kind = static_cast<std::uint32_t>(Kind::kIpv6);
    else if (v == "ip")
      config.kind = static_cast<std::uint32_t>(Kind::kIp);
    else {
      return kit::refuse(key, "address must be mac, ipv4, ipv6 or ip");
    }
  }
  if (WardenGetOption(key, "top", value, sizeof value) == WARDEN_OK) {
    char* end = nullptr;
    long n = std::strtol(value, &end, 10);
    if (*end != '\0' || n < 1 || n > 100000) {
      return kit::refuse(key, "top must be 1..100000");
    }
    config.top = static_cast<std::uint32_t>(n);
  }
  if (WardenGetOption(key, "sort", value, sizeof value) == WARDEN_OK) {
    std::string_view v = value;
    if (v != "bytes" && v != "frames") {
      return kit::refuse(key, "sort must be bytes or frames");
    }
    config.byFrames = v == "frames";
  }
  return kit::handOver(key, config, out);
}

int topusersRun(WardenKey key, const WardenExpertConfig* raw, const WardenStartupInfo* startup,
                std::uint32_t) {
  Config config{sizeof(Config), static_cast<std::uint32_t>(Kind::kMac), 10, 0};
  if (raw != nullptr && raw->rawConfigLength == sizeof(Config))
    std::memcpy(&config, raw, sizeof config);
  Kind kind = static_cast<Kind>(config.kind);
  Table endpoints, conversations;
  const Address none{};
  decode::DecodedFrame decoded;
  bool ok = kit::forEachFrame(key, startup, 0, [&](const WardenFrameDescriptor& frame) {
    kit::decode(frame, decoded);
    Address src, dst;
    if (!addressesOf(decoded, kind, src, dst)) return true;
    // Each row is updated before the next find, which may grow (move) the table.
    Entry* s = find(key, endpoints, src, none);
    if (s == nullptr) return false;
    s->framesAB += 1;
    s->bytesAB += frame.wireLength;
    Entry* d = find(key, endpoints, dst, none);
    if (d == nullptr) return false;
    d->framesBA += 1;
    d->bytesBA += frame.wireLength;
    bool forward = std::memcmp(&src, &dst, sizeof src) <= 0;
    Entry* c = find(key, conversations, forward ? src : dst, forward ? dst : src);
    if (c == nullptr) return false;
    (forward ? c->framesAB : c->framesBA) += 1;
    (forward ? c->bytesAB : c->bytesBA) += frame.wireLength;
    return true;
  });
  if (!ok) return 0;
  const bool byFrames = config.byFrames != 0;
  WardenColumn columns[8];
  WardenEvent event;
  std::memset(&event, 0, sizeof event);
  event.columns = columns;
  for (int side = 0; side < 2; ++side) {
    std::size_t* order = nullptr;
    std::size_t n = topN(key, endpoints, config.top, byFrames, side, &order);
    if (n == SIZE_MAX) return 0;
    event.id = side == 0 ? 1 : 2;
    event.eventName = side == 0 ? "Top sender" : "Top receiver";
    event.columnCount = 4;
    for (std::size_t r = 0; r < n; ++r) {
      const Entry& e = endpoints.rows[order[r]];
      std::memset(columns, 0, sizeof columns);
      columns[0] = {"Rank", WARDEN_COLUMN_U32, {}};
      columns[0].value.u32 = static_cast<std::uint32_t>(r + 1);
      column(columns[1], "Address", e.a);
      column(columns[2], "Frames", side == 0 ? e.framesAB : e.framesBA);
      column(columns[3], "Bytes", side == 0 ? e.bytesAB : e.bytesBA);
      if (WardenSubmitEvent(key, &event) != WARDEN_OK) return 0;
    }
    WardenFreeMemory(key, order);
  }
  std::size_t* order = nullptr;
  std::size_t n = topN(key, conversations, config.top, byFrames, 2, &order);
  if (n == SIZE_MAX) return 0;
  event.id = 3;
  event.eventName = "Top conversation";
  event.columnCount = 7;
  for (std::size_t r = 0; r < n; ++r) {
    const Entry& e = conversations.rows[order[r]];
    std::memset(columns, 0, sizeof columns);
    columns[0] = {"Rank", WARDEN_COLUMN_U32, {}};
    columns[0].value.u32 = static_cast<std::uint32_t>(r + 1);
    column(columns[1], "Address A", e.a);
    column(columns[2], "Address B", e.b);
    column(columns[3], "Frames A->B", e.framesAB);
    column(columns[4], "Bytes A->B", e.bytesAB);
    column(columns[5], "Frames B->A", e.framesBA);
    column(columns[6], "Bytes B->A", e.bytesBA);
    if (WardenSubmitEvent(key, &event) != WARDEN_OK) return 0;
  }
  WardenFreeMemory(key, order);
  WardenFreeMemory(key, endpoints.rows);
  WardenFreeMemory(key, conversations.rows);
  return 1;
}

}  // namespace warden::experts::builtin
