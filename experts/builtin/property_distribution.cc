// Property Distribution: for one named field (`-e propdist:field=ip.ttl`, else the focused field
// the host was started with, else tcp.window_size_value), how many frames carry it and what values
// it takes, counted per instance as the Network Monitor 2 expert did (ip.addr counts source and
// destination). Numeric fields get min / max / mean; every field gets the count and share of each
// value, with values written as `tshark -T fields` writes them; flag fields also get on/off counts.
// The value table lives in host memory.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "decode/decoder.h"
#include "experts/builtin/builtins.h"
#include "experts/builtin/expert_kit.h"
#include "fmt/format.h"

namespace warden::experts::builtin {

namespace {

using kit::HostAllocator;
using HostString = std::basic_string<char, std::char_traits<char>, HostAllocator<char>>;

constexpr std::size_t kFieldNameBytes = 64;
constexpr std::uint32_t kDefaultTop = 100;
// Without an option or a focused field (every built-in run at once): the receive windows, the
// property the Network Monitor documentation demonstrates the expert with.
constexpr const char* kDefaultField = "tcp.window_size_value";
constexpr std::size_t kMaxDistinct = 1'000'000;  // values past this are counted as "(other)"

struct Config {
  std::uint32_t length;
  char field[kFieldNameBytes];
  std::uint32_t top;  // value rows to report; 0: all
};

// The value as `tshark -T fields` prints it.
void fieldText(const WardenField& f, std::string& out) {
  switch (f.type) {
    case WARDEN_FIELD_UNSIGNED:
      out = f.hexDigits ? fmt::format("0x{:0{}x}", f.number, f.hexDigits)
                        : fmt::format("{}", f.number);
      return;
    case WARDEN_FIELD_BOOL:
      out.assign(1, f.number ? '1' : '0');
      return;
    case WARDEN_FIELD_MAC: {
      decode::Mac mac;
      std::memcpy(mac.data(), f.bytes, 6);
      out = decode::macToString(mac);
      return;
    }
    case WARDEN_FIELD_IPV4:
    case WARDEN_FIELD_IPV6: {
      decode::Address a;
      a.family = f.type == WARDEN_FIELD_IPV4 ? 4 : 6;
      std::memcpy(a.bytes.data(), f.bytes, a.family == 4 ? 4 : 16);
      out = a.toString();
      return;
    }
    default:
      out = f.text ? f.text : "";
  }
}

struct HostStringHash {
  std::size_t operator()(const HostString& s) const {
    return std::hash<std::string_view>{}(std::string_view(s));
  }
};

// A non-string field value, as the host hands it.
struct ValueKey {
  std::uint32_t type;
  std::uint32_t hexDigits;
  std::uint64_t number;
  std::uint8_t bytes[16];
  bool operator==(const ValueKey& o) const {
    return type == o.type && hexDigits == o.hexDigits && number == o.number &&
           std::memcmp(bytes, o.bytes, sizeof bytes) == 0;
  }
};
struct ValueKeyHash {
  std::size_t operator()(const ValueKey& k) const {
    return kit::Hash()
        .add(k.number)
        .add(static_cast<std::uint64_t>(k.type) << 32 | k.hexDigits)
        .add(k.bytes, sizeof k.bytes)
        .value();
  }
};

template <class K, class V, class H>
using HostMap = std::unordered_map<K, V, H, std::equal_to<K>, HostAllocator<std::pair<const K, V>>>;

struct Value {
  const HostString* text;
  std::uint64_t count;
};

int refuse(WardenKey key, const std::string& why) { return kit::refuse(key, why.c_str()); }

}  // namespace

int propdistRegister(WardenExpertInfo* info) {
  return kit::describe(info, "Property Distribution",
                       "For one field (option field=NAME, else the focused field, else "
                       "tcp.window_size_value): frames carrying it, "
                       "min/max/mean of numbers, count and share of each value, flag on/off counts "
                       "(option top=N value rows, 0 for all)",
                       WARDEN_EXPERT_CONFIGURABLE);
}

int propdistConfigure(WardenKey key, WardenExpertConfig** out, const WardenStartupInfo* startup,
                      std::uint32_t) {
  Config config{sizeof(Config), {}, kDefaultTop};
  std::uint32_t rc = WardenGetOption(key, "field", config.field, sizeof config.field);
  if (rc == WARDEN_ERR_BUFFER_TOO_SMALL) return refuse(key, "field: name too long");
  if (rc != WARDEN_OK) {
    const char* focused = startup && startup->focusedField ? startup->focusedField : "";
    if (*focused == '\0') focused = kDefaultField;
    if (std::strlen(focused) >= sizeof config.field) return refuse(key, "field: name too long");
    std::strcpy(config.field, focused);
  }
  // A field name alone is a display filter ("frames that have it"): it compiles only when the
  // host knows the field, and its message says what is wrong.
  WardenFilter* probe = nullptr;
  char message[256] = "";
  if (WardenCreateFilter(key, config.field, &probe, message, sizeof message) != WARDEN_OK)
    return refuse(key, fmt::format("field {}: {}", config.field, message));
  WardenDestroyFilter(key, probe);
  char top[16];
  if (WardenGetOption(key, "top", top, sizeof top) == WARDEN_OK) {
    char* end = nullptr;
    long n = std::strtol(top, &end, 10);
    if (*end != '\0' || n < 0 || n > 1'000'000) return refuse(key, "top must be 0..1000000");
    config.top = static_cast<std::uint32_t>(n);
  }
  return kit::handOver(key, config, out);
}

int propdistRun(WardenKey key, const WardenExpertConfig* raw, const WardenStartupInfo* startup,
                std::uint32_t) {
  Config config{};
  if (raw == nullptr || raw->rawConfigLength != sizeof(Config)) {
    WardenIndicateStatus(key, WARDEN_STATUS_PROBLEM, 0, "not configured", 0);
    return 0;
  }
  std::memcpy(&config, raw, sizeof config);
  config.field[kFieldNameBytes - 1] = '\0';
  return kit::guard(key, [&] {
    std::unordered_map<HostString, std::uint64_t, HostStringHash, std::equal_to<HostString>,
                       HostAllocator<std::pair<const HostString, std::uint64_t>>>
        values(64, HostStringHash{}, std::equal_to<HostString>{},
               HostAllocator<std::pair<const HostString, std::uint64_t>>(key));
    const std::string_view wanted = config.field;
    // Only the wanted field attached to each frame; an older host attaches all of them.
    const char* selection[] = {config.field};
    if (std::uint32_t rc = WardenSelectFields(key, selection, 1); rc == WARDEN_ERR_NOT_FOUND) {
      throw std::runtime_error(
          fmt::format("field {}: not a field with values (a protocol name?)", config.field));
    } else if (rc != WARDEN_OK && rc != WARDEN_ERR_BAD_VERSION) {
      throw std::runtime_error(fmt::format("selecting field {}: host error {}", config.field, rc));
    }
    std::uint64_t frames = 0, carrying = 0, instances = 0, other = 0, on = 0;
    std::uint64_t min = UINT64_MAX, max = 0;
    long double sum = 0;
    bool numeric = false, flag = false;
    // Non-string values are counted by their bits and written out once each at the end.
    HostMap<ValueKey, std::uint64_t, ValueKeyHash> raw(
        64, ValueKeyHash{}, std::equal_to<ValueKey>{},
        HostAllocator<std::pair<const ValueKey, std::uint64_t>>(key));
    HostString lookup{HostAllocator<char>(key)};
    const char* wantedName = nullptr;  // the host's name pointer, once seen: compared by address
    auto count = [&](const HostString& text, std::uint64_t n) {
      auto it = values.find(text);
      if (it != values.end())
        it->second += n;
      else if (values.size() < kMaxDistinct)
        values.emplace(text, n);
      else
        other += n;
    };
    bool ok = kit::forEachFrame(key, startup, WARDEN_FRAME_ATTACH_FIELDS,
                                [&](const WardenFrameDescriptor& frame) {
                                  ++frames;
                                  bool has = false;
                                  for (std::uint32_t i = 0; i < frame.fieldCount; ++i) {
                                    const WardenField& f = frame.fields[i];
                                    if (f.name != wantedName) {
                                      if (wantedName != nullptr || wanted != f.name) continue;
                                      wantedName = f.name;
                                    }
                                    has = true;
                                    ++instances;
                                    if (f.type == WARDEN_FIELD_STRING) {
                                      lookup.assign(f.text ? f.text : "");
                                      count(lookup, 1);
                                      continue;
                                    }
                                    if (f.type == WARDEN_FIELD_UNSIGNED) {
                                      numeric = true;
                                      min = std::min(min, f.number);
                                      max = std::max(max, f.number);
                                      sum += static_cast<long double>(f.number);
                                    } else if (f.type == WARDEN_FIELD_BOOL) {
                                      flag = true;
                                      on += f.number != 0;
                                    }
                                    ValueKey k{f.type, f.hexDigits, f.number, {}};
                                    std::memcpy(k.bytes, f.bytes, sizeof k.bytes);
                                    if (raw.size() < kMaxDistinct || raw.count(k))
                                      ++raw[k];
                                    else
                                      ++other;
                                  }
                                  carrying += has;
                                  return true;
                                });
    std::string text;
    for (const auto& [k, n] : raw) {
      WardenField f{};
      f.type = k.type;
      f.hexDigits = k.hexDigits;
      f.number = k.number;
      std::memcpy(f.bytes, k.bytes, sizeof f.bytes);
      fieldText(f, text);
      lookup.assign(text);
      count(lookup, n);
    }
    if (!ok) return 0;

    auto share = [](std::uint64_t part, std::uint64_t whole) {
      return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
    };
    kit::Row summary(key, 1, "Property");
    summary.text("Field", config.field)
        .count("Frames", carrying)
        .f64("% Frames", share(carrying, frames))
        .count("Instances", instances)
        .count("Distinct values", values.size() + (other ? 1 : 0));
    if (numeric && instances) {
      summary.count("Min", min)
          .count("Max", max)
          .f64("Mean", static_cast<double>(sum / static_cast<long double>(instances)));
    }
    if (!summary.submit()) return 0;
    if (flag) {
      kit::Row bits(key, 3, "Flag");
      if (!bits.text("Field", config.field).count("On", on).count("Off", instances - on).submit())
        return 0;
    }

    std::vector<Value, HostAllocator<Value>> order{HostAllocator<Value>(key)};
    order.reserve(values.size());
    for (const auto& [value, count] : values) order.push_back({&value, count});
    std::sort(order.begin(), order.end(), [](const Value& a, const Value& b) {
      return a.count != b.count ? a.count > b.count : *a.text < *b.text;
    });
    std::size_t rows = config.top ? std::min<std::size_t>(config.top, order.size()) : order.size();
    std::uint64_t rest = other;
    for (std::size_t i = rows; i < order.size(); ++i) rest += order[i].count;
    kit::Row row(key, 2, "Value");
    for (std::size_t i = 0; i < rows; ++i) {
      if (!row.text("Value", order[i].text->c_str())
               .count("Instances", order[i].count)
               .f64("% Instances", share(order[i].count, instances))
               .submit())
        return 0;
    }
    if (rest != 0 && !row.text("Value", "(other values)")
                          .count("Instances", rest)
                          .f64("% Instances", share(rest, instances))
                          .submit())
      return 0;
    return 1;
  });
}

}  // namespace warden::experts::builtin
