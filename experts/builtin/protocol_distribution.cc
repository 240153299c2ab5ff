// Protocol Distribution: per protocol, the frames and bytes (frame.len) that contain it and their
// share of the capture, in two views: every protocol of a frame's stack (each counted once per
// frame, like tshark's frame.protocols) and the highest protocol only. It decodes the frames
// the host hands it; the tally lives in host memory (WardenAllocMemory/WardenReallocMemory), as
// an expert's working state should.
#include <algorithm>
#include <cstring>
#include <string_view>

#include "experts/builtin/builtins.h"
#include "experts/builtin/expert_kit.h"

namespace warden::experts::builtin {

namespace {

constexpr std::size_t kNameBytes = 24;

struct Tally {
  char name[kNameBytes];
  std::uint64_t frames;
  std::uint64_t bytes;
  std::uint64_t highestFrames;
  std::uint64_t highestBytes;
};

struct Table {
  Tally* rows = nullptr;
  std::size_t count = 0;
  std::size_t capacity = 0;
};

// The row for `name`, added when new; null when the host refused memory (error set).
Tally* find(WardenKey key, Table& table, const char* name, std::size_t length,
            std::uint32_t* error) {
  if (length >= kNameBytes) length = kNameBytes - 1;
  for (std::size_t i = 0; i < table.count; ++i) {
    if (std::strncmp(table.rows[i].name, name, length) == 0 && table.rows[i].name[length] == '\0')
      return &table.rows[i];
  }
  if (table.count == table.capacity) {
    std::size_t capacity = table.capacity ? table.capacity * 2 : 16;
    void* grown = WardenReallocMemory(key, table.rows, capacity * sizeof(Tally), error);
    if (grown == nullptr) return nullptr;
    table.rows = static_cast<Tally*>(grown);
    table.capacity = capacity;
  }
  Tally* row = &table.rows[table.count++];
  std::memset(row, 0, sizeof *row);
  std::memcpy(row->name, name, length);
  return row;
}

double percent(std::uint64_t part, std::uint64_t whole) {
  return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

void sortBy(Table& table, bool highest) {
  // Insertion sort: a capture has a few dozen protocols.
  for (std::size_t i = 1; i < table.count; ++i) {
    Tally row = table.rows[i];
    std::size_t j = i;
    auto key = [&](const Tally& t) { return highest ? t.highestFrames : t.frames; };
    while (j > 0 && (key(table.rows[j - 1]) < key(row) ||
                     (key(table.rows[j - 1]) == key(row) &&
                      std::strcmp(table.rows[j - 1].name, row.name) > 0))) {
      table.rows[j] = table.rows[j - 1];
      --j;
    }
    table.rows[j] = row;
  }
}

std::uint32_t report(WardenKey key, Table& table, bool highest, std::uint64_t frames,
                     std::uint64_t bytes) {
  sortBy(table, highest);
  WardenColumn columns[5];
  std::memset(columns, 0, sizeof columns);
  columns[0] = {"Protocol", WARDEN_COLUMN_STRING, {}};
  columns[1] = {"Frames", WARDEN_COLUMN_U32, {}};
  columns[2] = {"% Frames", WARDEN_COLUMN_F64, {}};
  columns[3] = {"Bytes", WARDEN_COLUMN_F64, {}};  // F64: bytes of a large capture pass 2^32
  columns[4] = {"% Bytes", WARDEN_COLUMN_F64, {}};
  WardenEvent event;
  std::memset(&event, 0, sizeof event);
  event.id = highest ? 2 : 1;
  event.severity = WARDEN_SEVERITY_INFORMATIONAL;
  event.eventName = highest ? "Highest protocol" : "Protocol in stack";
  event.columnCount = 5;
  event.columns = columns;
  for (std::size_t i = 0; i < table.count; ++i) {
    const Tally& t = table.rows[i];
    std::uint64_t f = highest ? t.highestFrames : t.frames;
    std::uint64_t b = highest ? t.highestBytes : t.bytes;
    if (f == 0) continue;
    columns[0].value.string = t.name;
    columns[1].value.u32 = static_cast<std::uint32_t>(f);
    columns[2].value.f64 = percent(f, frames);
    columns[3].value.f64 = static_cast<double>(b);
    columns[4].value.f64 = percent(b, bytes);
    if (std::uint32_t rc = WardenSubmitEvent(key, &event); rc != WARDEN_OK) return rc;
  }
  return WARDEN_OK;
}

}  // namespace

int protdistRegister(WardenExpertInfo* info) {
  return kit::describe(
      info, "Protocol Distribution",
      "Frames and bytes per protocol: every protocol of each frame's stack, and the "
      "highest protocol only",
      0);
}

int protdistRun(WardenKey key, const WardenExpertConfig*, const WardenStartupInfo* startup,
                std::uint32_t) {
  if (WardenIndicateStatus(key, WARDEN_STATUS_STARTING, 0, nullptr, 0) != WARDEN_OK) return 0;
  Table table;
  std::uint64_t frames = 0, bytes = 0;
  decode::DecodedFrame d;
  int rowOf[64];  // Layer -> row index, -1 until first seen (rows move when the table grows)
  std::fill(std::begin(rowOf), std::end(rowOf), -1);
  bool ok = kit::forEachFrame(key, startup, 0, [&](const WardenFrameDescriptor& frame) {
    kit::decode(frame, d);
    ++frames;
    bytes += frame.wireLength;
    // Each protocol once per frame (a tunnel can repeat one), the last one is the highest.
    std::uint64_t counted = 0;  // bits: row indexes counted in this frame (the first 64 rows)
    int last = -1;
    for (std::size_t i = 0; i < d.layerCount; ++i) {
      auto layer = static_cast<std::size_t>(d.layers[i].layer);
      int& index = rowOf[layer % 64];
      if (index < 0) {
        std::string_view name = decode::layerName(d.layers[i].layer);
        std::uint32_t error = WARDEN_OK;
        if (find(key, table, name.data(), name.size(), &error) == nullptr) return false;
        // find() returned the row for the name (new or not): its index.
        for (std::size_t r = 0; r < table.count; ++r) {
          if (std::string_view(table.rows[r].name) == name) index = static_cast<int>(r);
        }
      }
      Tally& row = table.rows[index];
      if (index >= 64 || !(counted & (1ull << index))) {
        if (index < 64) counted |= 1ull << index;
        row.frames += 1;
        row.bytes += frame.wireLength;
      }
      last = index;
    }
    if (last >= 0) {
      table.rows[last].highestFrames += 1;
      table.rows[last].highestBytes += frame.wireLength;
    }
    return true;
  });
  if (!ok) return 0;
  if (report(key, table, false, frames, bytes) != WARDEN_OK) return 0;
  if (report(key, table, true, frames, bytes) != WARDEN_OK) return 0;
  WardenFreeMemory(key, table.rows);
  return 1;
}

}  // namespace warden::experts::builtin
