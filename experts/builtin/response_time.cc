// Average Server Response Time: request/response pairs per server and service port, with the
// average, minimum and maximum time from request to response. Pairing follows the protocol:
//   - SMB: the response with the request's PID and MID; SMB2: the message id, each header of a
//     compound chain on its own, an interim (STATUS_PENDING) and the final response both counted;
//   - DCE/RPC (connection-oriented, over TCP): the call id, from the request's first fragment to
//     the response's (or fault's) first fragment;
//   - DNS over UDP (IP fragments reassembled) and TCP: the transaction id within the
//     conversation, from the last query sent before the answer;
//   - other TCP services on the configured ports (default 80): the first server payload after a
//     client sent data, from that client data's last segment.
// TCP messages are framed on reassembled streams (reassembly/pdu_framer), so a message's time is
// that of the frame that completed it, as tshark's smb.time, smb2.time, dcerpc.time and dns.time.
// Pending requests and the per-server tallies live in host memory.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/bytes.h"
#include "experts/builtin/builtins.h"
#include "experts/builtin/expert_kit.h"
#include "reassembly/ip_defrag.h"
#include "reassembly/pdu_framer.h"
#include "reassembly/tcp_stream.h"

namespace warden::experts::builtin {

namespace {

using kit::HostAllocator;

enum class Protocol : std::uint8_t { kSmb, kSmb2, kDcerpc, kDns, kTcpPort };
constexpr const char* kProtocolNames[] = {"SMB", "SMB2", "DCE/RPC", "DNS", "TCP"};
constexpr std::size_t kMaxPending = 1'000'000;  // requests waiting for an answer, at most
constexpr std::size_t kMaxPorts = 32;

struct Config {
  std::uint32_t length;
  std::uint32_t portCount;
  std::uint16_t ports[kMaxPorts];
  std::uint32_t pairs;  // also one event per request/response pair
};

// What identifies a request until its response: protocol, conversation and message id.
struct PendingKey {
  Protocol protocol;
  std::uint64_t stream;  // TCP stream, or a hash of the UDP conversation
  std::uint64_t id;
  bool operator==(const PendingKey&) const = default;
};
struct PendingHash {
  std::size_t operator()(const PendingKey& k) const {
    std::uint64_t h = (k.stream * 0x9e3779b97f4a7c15ull) ^ (k.id + 0x632be59bd9b4e019ull) ^
                      static_cast<std::uint64_t>(k.protocol) << 56;
    return static_cast<std::size_t>(h ^ (h >> 29));
  }
};
struct Pending {
  std::int64_t time;
  std::uint64_t frame;
  bool answered;
};

struct ServerKey {
  Protocol protocol;
  decode::Address address;
  std::uint16_t port;
  bool operator==(const ServerKey&) const = default;
};
struct ServerHash {
  std::size_t operator()(const ServerKey& k) const {
    return kit::Hash()
        .add(k.address)
        .add(k.port)
        .add(static_cast<std::uint64_t>(k.protocol))
        .value();
  }
};
struct Tally {
  std::uint64_t pairs = 0, requests = 0;
  std::int64_t total = 0, min = INT64_MAX, max = 0;
  void add(std::int64_t ns) {
    ++pairs;
    total += ns;
    min = std::min(min, ns);
    max = std::max(max, ns);
  }
};

// Per TCP stream on a configured port: when the client last sent data no reply has followed.
struct PortWait {
  bool waiting = false;
  std::int64_t since = 0;
  std::uint64_t frame = 0;
};

// Header fields at fixed offsets, read through the bounded ByteReader (callers check the header
// length first; a field past the end reads as 0).
std::uint64_t field(std::span<const std::byte> b, std::size_t at, int width, Endian endian) {
  ByteReader r(b, 0, endian);
  if (!r.seek(at).ok()) return 0;
  if (width == 2) return r.u16().valueOr(0);
  if (width == 4) return r.u32().valueOr(0);
  return r.u64().valueOr(0);
}
std::uint16_t u16le(std::span<const std::byte> b, std::size_t at) {
  return static_cast<std::uint16_t>(field(b, at, 2, Endian::kLittle));
}
std::uint32_t u32(std::span<const std::byte> b, std::size_t at, bool little) {
  return static_cast<std::uint32_t>(field(b, at, 4, little ? Endian::kLittle : Endian::kBig));
}
std::uint64_t u64le(std::span<const std::byte> b, std::size_t at) {
  return field(b, at, 8, Endian::kLittle);
}

class ResponseTimes {
 public:
  ResponseTimes(WardenKey key, const Config& config)
      : pairRow_(key, 4, "Pair"),
        pending_(1024, PendingHash{}, std::equal_to<PendingKey>{},
                 HostAllocator<std::pair<const PendingKey, Pending>>(key)),
        servers_(64, ServerHash{}, std::equal_to<ServerKey>{},
                 HostAllocator<std::pair<const ServerKey, Tally>>(key)),
        waits_(64, std::hash<std::uint64_t>{}, std::equal_to<std::uint64_t>{},
               HostAllocator<std::pair<const std::uint64_t, PortWait>>(key)),
        config_(config),
        framer_([this](const reassembly::Pdu& p) { onPdu(p); },
                reassembly::FramerOptions{.keepBytes = 4096, .httpPorts = {}}),
        tcp_([this](const reassembly::Delivery& d) { onDelivery(d); },
             reassembly::TcpOptions{.conflictWindow = 0}) {}

  // False when the host refused an event.
  bool frame(const WardenFrameDescriptor& frame, const decode::DecodedFrame& d) {
    now_ = frame.timestampNs;
    frame_ = frame.frameNumber;
    if (d.ipFragment()) {
      // DNS answers larger than the MTU come in IP fragments: time the reassembled datagram.
      auto fragment = reassembly::fragmentOf(
          {reinterpret_cast<const std::byte*>(frame.data), frame.capturedLength}, d,
          frame.frameNumber, frame.timestampNs);
      if (!fragment) return !refused_;
      auto datagram = defrag_.add(*fragment);
      if (!datagram || datagram->protocol != 17 || datagram->payload.size() < 8 + 12)
        return !refused_;
      std::span<const std::byte> p = datagram->payload;
      auto be16 = [&](std::size_t at) {
        return static_cast<std::uint16_t>(static_cast<std::uint8_t>(p[at]) << 8 |
                                          static_cast<std::uint8_t>(p[at + 1]));
      };
      std::uint16_t srcPort = be16(0), dstPort = be16(2);
      if (srcPort == 53 || dstPort == 53 || srcPort == 5353 || dstPort == 5353) {
        dns(datagram->src, srcPort, datagram->dst, dstPort, be16(8),
            (static_cast<std::uint8_t>(p[10]) & 0x80) != 0);
      }
      return !refused_;
    }
    if (d.transport == decode::Layer::kUdp && d.has(decode::Layer::kDns)) {
      dns(d.ipSrc(), d.udp.srcPort, d.ipDst(), d.udp.dstPort, d.dnsId, d.dnsResponse);
      return !refused_;
    }
    auto segment = reassembly::tcpSegmentOf(
        {reinterpret_cast<const std::byte*>(frame.data), frame.capturedLength}, d,
        frame.frameNumber);
    if (segment) {
      segment->stable = true;  // frame bytes stay valid until the run ends
      tcp_.add(*segment);
    }
    return !refused_;
  }

  bool finish() {
    frame_ = 0;
    tcp_.finish();
    framer_.finish();
    return !refused_;
  }

  // Reports; false when the host refused an event.
  bool report(WardenKey key) const {
    struct Row {
      const ServerKey* key;
      const Tally* tally;
    };
    std::vector<Row, HostAllocator<Row>> rows{HostAllocator<Row>(key)};
    for (const auto& [k, t] : servers_) rows.push_back({&k, &t});
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
      if (a.tally->pairs != b.tally->pairs) return a.tally->pairs > b.tally->pairs;
      if (a.key->protocol != b.key->protocol) return a.key->protocol < b.key->protocol;
      if (a.key->address != b.key->address) return a.key->address < b.key->address;
      return a.key->port < b.key->port;
    });
    Tally perProtocol[5];
    kit::Row row(key, 1, "Server response time");
    for (const Row& r : rows) {
      const Tally& t = *r.tally;
      Tally& p = perProtocol[static_cast<int>(r.key->protocol)];
      p.requests += t.requests;
      if (t.pairs) {
        p.pairs += t.pairs;
        p.total += t.total;
        p.min = std::min(p.min, t.min);
        p.max = std::max(p.max, t.max);
      }
      if (!fill(row.address("Server", r.key->address)
                    .u16("Port", r.key->port)
                    .text("Protocol", kProtocolNames[static_cast<int>(r.key->protocol)]),
                t)
               .submit())
        return false;
    }
    kit::Row summary(key, 2, "Protocol response time");
    for (int i = 0; i < 5; ++i) {
      if (perProtocol[i].requests == 0 && perProtocol[i].pairs == 0) continue;
      if (!fill(summary.text("Protocol", kProtocolNames[i]), perProtocol[i]).submit()) return false;
    }
    if (untracked_ != 0) {
      kit::Row note(key, 3, "Requests not tracked", WARDEN_SEVERITY_WARNING);
      if (!note.count("Requests", untracked_).submit()) return false;
    }
    return true;
  }

 private:
  static kit::Row& fill(kit::Row& row, const Tally& t) {
    double avg = t.pairs ? static_cast<double>(t.total) / static_cast<double>(t.pairs) / 1e6 : 0;
    return row.count("Pairs", t.pairs)
        .f64("Avg (ms)", avg)
        .f64("Min (ms)", t.pairs ? static_cast<double>(t.min) / 1e6 : 0)
        .f64("Max (ms)", t.pairs ? static_cast<double>(t.max) / 1e6 : 0)
        .count("Unanswered", t.requests > t.pairs ? t.requests - t.pairs : 0);
  }

  // A DNS message over UDP, keyed by its conversation (client, server) and id.
  void dns(const decode::Address& src, std::uint16_t srcPort, const decode::Address& dst,
           std::uint16_t dstPort, std::uint16_t id, bool response) {
    const decode::Address& client = response ? dst : src;
    const decode::Address& server = response ? src : dst;
    std::uint16_t clientPort = response ? dstPort : srcPort;
    std::uint16_t serverPort = response ? srcPort : dstPort;
    std::uint64_t h = kit::Hash()
                          .add(client)
                          .add(server)
                          .add(static_cast<std::uint64_t>(clientPort) << 16 | serverPort)
                          .value();
    message(Protocol::kDns, h, id, !response, true, server, serverPort);
  }

  void pair(Protocol protocol, const decode::Address& server, std::uint16_t port, std::uint64_t id,
            std::uint64_t requestFrame, std::int64_t requestTime) {
    servers_[{protocol, server, port}].add(now_ - requestTime);
    if (!config_.pairs || refused_) return;
    refused_ = !pairRow_.at(now_)
                    .text("Protocol", kProtocolNames[static_cast<int>(protocol)])
                    .address("Server", server)
                    .u16("Port", port)
                    .count("Id", id)
                    .frame("Request", requestFrame)
                    .frame("Response", frame_)
                    .f64("Time (ms)", static_cast<double>(now_ - requestTime) / 1e6)
                    .submit();
  }

  // A request (remembered) or a response (paired with its request when there is one).
  // `final`: the request is done with after this response.
  void message(Protocol protocol, std::uint64_t stream, std::uint64_t id, bool request, bool final,
               const decode::Address& server, std::uint16_t serverPort) {
    PendingKey k{protocol, stream, id};
    if (request) {
      auto it = pending_.find(k);
      if (it != pending_.end() && !it->second.answered) {
        // Asked again before an answer: a DNS client's retry is what the answer answers (as
        // tshark's dns.time counts); other protocols keep the first request.
        if (protocol == Protocol::kDns) it->second = {now_, frame_, false};
        return;
      }
      if (it == pending_.end() && pending_.size() >= kMaxPending) {
        ++untracked_;
        return;
      }
      pending_[k] = {now_, frame_, false};
      servers_[{protocol, server, serverPort}].requests += 1;
      return;
    }
    auto it = pending_.find(k);
    if (it == pending_.end()) return;
    if (!it->second.answered || protocol == Protocol::kSmb2) {
      pair(protocol, server, serverPort, id, it->second.frame, it->second.time);
      if (it->second.answered) servers_[{protocol, server, serverPort}].requests += 1;
    }
    it->second.answered = true;
    if (final && protocol != Protocol::kDns) pending_.erase(it);
  }

  void onDelivery(const reassembly::Delivery& d) {
    std::uint16_t port = 0;
    bool fromServer = false;
    for (std::uint32_t i = 0; i < config_.portCount; ++i) {
      if (d.to->port == config_.ports[i]) port = d.to->port;
      if (d.from->port == config_.ports[i]) {
        port = d.from->port;
        fromServer = true;
      }
    }
    if (port != 0) {
      PortWait& w = waits_[d.stream];
      if (!fromServer) {
        if (!w.waiting) servers_[{Protocol::kTcpPort, d.to->address, port}].requests += 1;
        w.waiting = true;
        w.since = now_;
        w.frame = frame_;
      } else if (w.waiting) {
        w.waiting = false;
        pair(Protocol::kTcpPort, d.from->address, port, d.stream, w.frame, w.since);
      }
      return;
    }
    framer_.add(d);
  }

  void onPdu(const reassembly::Pdu& p) {
    std::span<const std::byte> b = p.bytes;
    switch (p.protocol) {
      case reassembly::PduProtocol::kNbss: {
        if (b.size() < 8 || static_cast<std::uint8_t>(b[0]) != 0) return;
        auto magic = static_cast<std::uint8_t>(b[4]);
        if (magic == 0xff && b.size() >= 4 + 32) {
          std::span<const std::byte> h = b.subspan(4);
          bool response = static_cast<std::uint8_t>(h[9]) & 0x80;
          std::uint64_t id = static_cast<std::uint64_t>(u16le(h, 12)) << 32 |
                             static_cast<std::uint64_t>(u16le(h, 26)) << 16 | u16le(h, 30);
          const reassembly::TcpEndpoint* server = response ? p.from : p.to;
          message(Protocol::kSmb, p.stream, id, !response, true, server->address, server->port);
        } else if (magic == 0xfe) {
          // A compound chain: each header at the previous one's NextCommand offset.
          std::size_t at = 4;
          for (int n = 0; n < 64 && at + 64 <= b.size(); ++n) {
            std::span<const std::byte> h = b.subspan(at);
            std::uint32_t flags = u32(h, 16, true);
            std::uint32_t status = u32(h, 8, true);
            bool response = flags & 1;
            const reassembly::TcpEndpoint* server = response ? p.from : p.to;
            message(Protocol::kSmb2, p.stream, u64le(h, 24), !response,
                    !(response && status == 0x103), server->address, server->port);
            std::uint32_t next = u32(h, 20, true);
            if (next == 0 || next % 8 != 0) break;
            at += next;
          }
        }
        return;
      }
      case reassembly::PduProtocol::kDcerpc: {
        if (b.size() < 16) return;
        auto type = static_cast<std::uint8_t>(b[2]);
        auto flags = static_cast<std::uint8_t>(b[3]);
        bool little = static_cast<std::uint8_t>(b[4]) & 0x10;
        if (!(flags & 0x01)) return;  // only a call's first fragment
        if (type != 0 && type != 2 && type != 3) return;
        bool request = type == 0;
        const reassembly::TcpEndpoint* server = request ? p.to : p.from;
        message(Protocol::kDcerpc, p.stream, u32(b, 12, little), request, true, server->address,
                server->port);
        return;
      }
      case reassembly::PduProtocol::kDnsTcp: {
        if (b.size() < 6) return;
        bool response = static_cast<std::uint8_t>(b[4]) & 0x80;
        std::uint64_t id = static_cast<std::uint8_t>(b[2]) << 8 | static_cast<std::uint8_t>(b[3]);
        const reassembly::TcpEndpoint* server = response ? p.from : p.to;
        message(Protocol::kDns, p.stream | 1ull << 63, id, !response, true, server->address,
                server->port);
        return;
      }
      default:
        return;
    }
  }

  kit::Row pairRow_;
  std::unordered_map<PendingKey, Pending, PendingHash, std::equal_to<PendingKey>,
                     HostAllocator<std::pair<const PendingKey, Pending>>>
      pending_;
  std::unordered_map<ServerKey, Tally, ServerHash, std::equal_to<ServerKey>,
                     HostAllocator<std::pair<const ServerKey, Tally>>>
      servers_;
  std::unordered_map<std::uint64_t, PortWait, std::hash<std::uint64_t>,
                     std::equal_to<std::uint64_t>,
                     HostAllocator<std::pair<const std::uint64_t, PortWait>>>
      waits_;
  Config config_;
  std::int64_t now_ = 0;
  std::uint64_t frame_ = 0;  // the frame being read (0: the end of the capture)
  bool refused_ = false;
  std::uint64_t untracked_ = 0;
  reassembly::Defragmenter defrag_;
  reassembly::PduFramer framer_;
  reassembly::TcpReassembler tcp_;
};

}  // namespace

int srtRegister(WardenExpertInfo* info) {
  return kit::describe(
      info, "Average Server Response Time",
      "Request/response times per server and port (avg, min, max): SMB/SMB2 by message id, "
      "DCE/RPC by call id, DNS by id, TCP ports (option ports=80;8080, default 80) by first "
      "reply after client data; pairs=yes lists every pair",
      WARDEN_EXPERT_CONFIGURABLE);
}

int srtConfigure(WardenKey key, WardenExpertConfig** out, const WardenStartupInfo*, std::uint32_t) {
  Config config{sizeof(Config), 1, {80}, 0};
  char value[256];
  if (WardenGetOption(key, "pairs", value, sizeof value) == WARDEN_OK) {
    std::string_view v = value;
    if (v != "yes" && v != "no") {
      return kit::refuse(key, "pairs must be yes or no");
    }
    config.pairs = v == "yes";
  }
  std::uint32_t rc = WardenGetOption(key, "ports", value, sizeof value);
  if (rc == WARDEN_ERR_BUFFER_TOO_SMALL) {
    return kit::refuse(key, "ports: list too long");
  }
  if (rc == WARDEN_OK) {
    config.portCount = 0;
    const char* p = value;
    while (*p != '\0') {
      char* end = nullptr;
      long port = std::strtol(p, &end, 10);
      if (end == p || port < 1 || port > 65535 || (*end != '\0' && *end != ',' && *end != ';') ||
          config.portCount == kMaxPorts) {
        return kit::refuse(key, "ports must be up to 32 TCP ports 1..65535 separated by ';'");
      }
      config.ports[config.portCount++] = static_cast<std::uint16_t>(port);
      p = *end ? end + 1 : end;
    }
  }
  return kit::handOver(key, config, out);
}

int srtRun(WardenKey key, const WardenExpertConfig* raw, const WardenStartupInfo* startup,
           std::uint32_t) {
  Config config{sizeof(Config), 1, {80}, 0};
  if (raw != nullptr && raw->rawConfigLength == sizeof(Config))
    std::memcpy(&config, raw, sizeof config);
  config.portCount = std::min<std::uint32_t>(config.portCount, kMaxPorts);
  return kit::guard(key, [&] {
    ResponseTimes times(key, config);
    decode::DecodedFrame d;
    bool ok = kit::forEachFrame(key, startup, 0, [&](const WardenFrameDescriptor& frame) {
      kit::decode(frame, d);
      return times.frame(frame, d);
    });
    if (!ok || !times.finish()) return 0;
    return times.report(key) ? 1 : 0;
  });
}

}  // namespace warden::experts::builtin
