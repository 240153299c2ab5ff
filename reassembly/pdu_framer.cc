// PDU framing over reassembled TCP streams. Each direction runs a small state machine: a header
// (fixed size for NBSS, DCE/RPC and DNS; CRLF-terminated lines for HTTP) gives the body length,
// the body is counted off, and the next PDU starts right after. Only the first keepBytes of a PDU
// are copied; the rest is counted.
#include "reassembly/pdu_framer.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace warden::reassembly {

namespace {

constexpr std::string_view kMethods[] = {
    "GET ",   "POST ",     "HEAD ",  "PUT ",  "DELETE ", "OPTIONS ", "PATCH ",  "CONNECT ",
    "TRACE ", "PROPFIND ", "MKCOL ", "COPY ", "MOVE ",   "LOCK ",    "UNLOCK ", "PROPPATCH "};

std::string_view text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::uint8_t byteAt(std::span<const std::byte> bytes, std::size_t i) {
  return static_cast<std::uint8_t>(bytes[i]);
}

bool isRequestLine(std::string_view t) {
  return std::any_of(std::begin(kMethods), std::end(kMethods),
                     [&](std::string_view m) { return t.starts_with(m); });
}

bool isNbssStart(std::span<const std::byte> b) {
  if (b.size() < 4) return false;
  std::uint8_t type = byteAt(b, 0);
  if (type == 0x00) {
    return b.size() >= 8 && text(b.subspan(5, 3)) == "SMB" &&
           (byteAt(b, 4) == 0xff || byteAt(b, 4) == 0xfe || byteAt(b, 4) == 0xfd);
  }
  return type >= 0x81 && type <= 0x85 && (byteAt(b, 1) & 0xfe) == 0;
}

// Version 5.0/5.1, a packet type in use, the drep flags DCE defines, frag_length >= 16.
bool isDcerpcStart(std::span<const std::byte> b) {
  if (b.size() < 10) return false;
  if (byteAt(b, 0) != 5 || byteAt(b, 1) > 1 || byteAt(b, 2) > 20 || (byteAt(b, 4) & 0xee) != 0)
    return false;
  std::uint16_t fragLength = (byteAt(b, 4) & 0x10)
                                 ? static_cast<std::uint16_t>(byteAt(b, 8) | byteAt(b, 9) << 8)
                                 : static_cast<std::uint16_t>(byteAt(b, 8) << 8 | byteAt(b, 9));
  return fragLength >= 16;
}

std::size_t fixedHeader(PduProtocol p) {
  switch (p) {
    case PduProtocol::kNbss:
      return 4;
    case PduProtocol::kDcerpc:
      return 10;
    case PduProtocol::kDnsTcp:
      return 2;
    default:
      return 0;
  }
}

// The value of header `name` (case-insensitive) in an HTTP header section, or "".
std::string_view headerValue(std::string_view headers, std::string_view name) {
  std::size_t pos = headers.find('\n');
  while (pos != std::string_view::npos && pos + 1 < headers.size()) {
    std::size_t start = pos + 1;
    std::size_t end = headers.find('\n', start);
    std::string_view line =
        headers.substr(start, end == std::string_view::npos ? end : end - start);
    if (line.size() > name.size() && line[name.size()] == ':' &&
        std::equal(name.begin(), name.end(), line.begin(),
                   [](char a, char b) { return (a | 0x20) == (b | 0x20); })) {
      std::string_view v = line.substr(name.size() + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) v.remove_suffix(1);
      return v;
    }
    pos = end;
  }
  return {};
}

}  // namespace

std::string_view pduProtocolName(PduProtocol protocol) {
  switch (protocol) {
    case PduProtocol::kNbss:
      return "nbss";
    case PduProtocol::kDcerpc:
      return "dcerpc";
    case PduProtocol::kDnsTcp:
      return "dns";
    case PduProtocol::kHttpRequest:
      return "http request";
    case PduProtocol::kHttpResponse:
      return "http response";
  }
  return "unknown";
}

PduFramer::PduFramer(Sink sink, FramerOptions options)
    : sink_(std::move(sink)), options_(std::move(options)) {
  options_.keepBytes = std::max<std::size_t>(options_.keepBytes, 16);
}

PduFramer::~PduFramer() = default;

bool PduFramer::choose(Direction& d, const Delivery& delivery) {
  auto port = [&](std::uint16_t p) { return delivery.from->port == p || delivery.to->port == p; };
  std::string_view t = text(delivery.bytes);
  bool httpPort = std::any_of(options_.httpPorts.begin(), options_.httpPorts.end(),
                              [&](std::uint16_t p) { return port(p); });
  if (port(139) || port(445)) {
    d.protocol = PduProtocol::kNbss;
  } else if (port(53)) {
    d.protocol = PduProtocol::kDnsTcp;
  } else if (isDcerpcStart(delivery.bytes)) {
    d.protocol = PduProtocol::kDcerpc;
  } else if (isRequestLine(t)) {
    d.protocol = PduProtocol::kHttpRequest;
  } else if (t.starts_with("HTTP/1.")) {
    d.protocol = PduProtocol::kHttpResponse;
  } else if (httpPort) {
    bool toServer = std::any_of(options_.httpPorts.begin(), options_.httpPorts.end(),
                                [&](std::uint16_t p) { return delivery.to->port == p; });
    d.protocol = toServer ? PduProtocol::kHttpRequest : PduProtocol::kHttpResponse;
  } else {
    return false;
  }
  return true;
}

bool PduFramer::startsPdu(const Direction& d, std::span<const std::byte> bytes) const {
  switch (d.protocol) {
    case PduProtocol::kNbss:
      return isNbssStart(bytes);
    case PduProtocol::kDcerpc:
      return isDcerpcStart(bytes);
    case PduProtocol::kDnsTcp:
      // A length of at least a DNS header, and a header whose opcode is in use.
      return bytes.size() >= 6 && (byteAt(bytes, 0) << 8 | byteAt(bytes, 1)) >= 12 &&
             ((byteAt(bytes, 4) >> 3) & 0x0f) <= 6;
    case PduProtocol::kHttpRequest:
      return isRequestLine(text(bytes));
    case PduProtocol::kHttpResponse:
      return text(bytes).starts_with("HTTP/1.");
  }
  return false;
}

void PduFramer::begin(Direction& d, std::uint64_t offset) {
  d.state = State::kHeader;
  d.start = offset;
  d.length = 0;
  d.remaining = 0;
  d.kept.clear();
  d.line.clear();
  d.frames.clear();
  d.minFrame = UINT64_MAX;
}

void PduFramer::take(Direction& d, std::span<const std::byte> bytes) {
  if (bytes.empty()) return;
  if (d.frames.empty() || d.frames.back() != currentFrame_) {
    d.frames.push_back(currentFrame_);
    d.minFrame = std::min(d.minFrame, currentFrame_);
  }
  std::size_t room = options_.keepBytes > d.kept.size() ? options_.keepBytes - d.kept.size() : 0;
  std::size_t copy = std::min(room, bytes.size());
  d.kept.insert(d.kept.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(copy));
  d.length += bytes.size();
}

void PduFramer::emit(Direction& d, int dir, bool complete) {
  Pdu pdu{d.protocol, currentStream_,
          dir,        d.from,
          d.to,       d.start,
          d.length,   {d.kept.data(), std::min<std::size_t>(d.kept.size(), d.length)},
          d.frames,   currentArrival_ ? currentArrival_ : (d.frames.empty() ? 0 : d.frames.back()),
          complete,   d.afterGap};
  ++stats_.pdus;
  if (!complete) ++stats_.incomplete;
  sink_(pdu);
  std::uint64_t next = d.start + d.length;
  // Idle directions of many streams must not each hold a keepBytes buffer.
  if (d.kept.capacity() > 512) std::vector<std::byte>().swap(d.kept);
  if (d.line.capacity() > 512) std::vector<char>().swap(d.line);
  begin(d, next);
}

// Parses a complete HTTP header section in d.line; sets the body state, or emits a PDU that has
// no body. False when it is not HTTP after all.
bool PduFramer::headerDone(Stream& s, Direction& d) {
  std::string_view headers(d.line.data(), d.line.size());
  bool request = d.protocol == PduProtocol::kHttpRequest;
  bool noBody = false;
  if (request) {
    s.headRequests.push_back(headers.starts_with("HEAD "));
  } else {
    // "HTTP/1.1 200 OK": 1xx, 204 and 304 have no body; nor has the answer to a HEAD.
    int status = 0;
    if (headers.size() >= 12) std::from_chars(headers.data() + 9, headers.data() + 12, status);
    bool interim = status >= 100 && status < 200;
    bool head = false;
    if (!interim && !s.headRequests.empty()) {
      head = s.headRequests.front();
      s.headRequests.pop_front();
    }
    noBody = interim || status == 204 || status == 304 || head;
  }
  std::string_view encoding = headerValue(headers, "Transfer-Encoding");
  std::string_view length = headerValue(headers, "Content-Length");
  d.line.clear();
  if (noBody) {
    d.state = State::kBody;
    d.remaining = 0;
  } else if (encoding.find("chunked") != std::string_view::npos) {
    d.state = State::kChunkLine;
  } else if (!length.empty()) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), n);
    if (ec != std::errc()) return false;
    d.state = State::kBody;
    d.remaining = n;
  } else {
    d.state = request ? State::kBody : State::kUntilClose;
    d.remaining = 0;
  }
  return true;
}

std::size_t PduFramer::step(Stream& s, Direction& d, int dir, std::span<const std::byte> bytes) {
  switch (d.state) {
    case State::kHeader: {
      if (std::size_t header = fixedHeader(d.protocol); header != 0) {
        std::size_t n = std::min<std::size_t>(header - d.length, bytes.size());
        take(d, bytes.first(n));
        if (d.length < header) return n;
        std::span<const std::byte> h(d.kept.data(), header);
        std::uint64_t total = 0;
        if (d.protocol == PduProtocol::kNbss) {
          if (!isNbssStart(h) && byteAt(h, 0) != 0x00) {
            emit(d, dir, false);
            d.state = State::kLost;
            return n;
          }
          total = 4 + ((byteAt(h, 1) & 1u) << 16 | byteAt(h, 2) << 8 | byteAt(h, 3));
        } else if (d.protocol == PduProtocol::kDcerpc) {
          if (!isDcerpcStart(h)) {
            emit(d, dir, false);
            d.state = State::kLost;
            return n;
          }
          total = (byteAt(h, 4) & 0x10) ? (byteAt(h, 8) | byteAt(h, 9) << 8)
                                        : (byteAt(h, 8) << 8 | byteAt(h, 9));
        } else {
          total = 2 + (byteAt(h, 0) << 8 | byteAt(h, 1));
        }
        d.remaining = total - header;
        d.state = State::kBody;
        if (d.remaining == 0) emit(d, dir, true);
        return n;
      }
      // HTTP: collect lines up to the empty one.
      std::string_view t = text(bytes);
      std::size_t n = 0;
      while (n < t.size()) {
        d.line.push_back(t[n++]);
        std::size_t size = d.line.size();
        if (size >= 4 && std::memcmp(d.line.data() + size - 4, "\r\n\r\n", 4) == 0) break;
        if (size >= 2 && d.line[size - 1] == '\n' && d.line[size - 2] == '\n') break;
      }
      take(d, bytes.first(n));
      std::size_t size = d.line.size();
      bool done = (size >= 4 && std::memcmp(d.line.data() + size - 4, "\r\n\r\n", 4) == 0) ||
                  (size >= 2 && d.line[size - 1] == '\n' && d.line[size - 2] == '\n');
      if (!done) {
        if (d.line.size() > options_.maxHttpHeader) {
          emit(d, dir, false);
          d.state = State::kLost;
        }
        return n;
      }
      if (!headerDone(s, d)) {
        emit(d, dir, false);
        d.state = State::kLost;
        return n;
      }
      if (d.state == State::kBody && d.remaining == 0) emit(d, dir, true);
      return n;
    }
    case State::kBody:
    case State::kChunkData: {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(d.remaining, bytes.size()));
      take(d, bytes.first(n));
      d.remaining -= n;
      if (d.remaining == 0) {
        if (d.state == State::kBody) {
          emit(d, dir, true);
        } else {
          d.state = State::kChunkLine;
        }
      }
      return n;
    }
    case State::kChunkLine:
    case State::kTrailer: {
      std::string_view t = text(bytes);
      std::size_t n = 0;
      bool eol = false;
      while (n < t.size() && !eol) {
        char c = t[n++];
        eol = c == '\n';
        if (!eol && d.line.size() < 4096) d.line.push_back(c);
      }
      take(d, bytes.first(n));
      if (!eol) return n;
      std::string_view line(d.line.data(), d.line.size());
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (d.state == State::kTrailer) {
        if (line.empty()) emit(d, dir, true);
        d.line.clear();
        return n;
      }
      std::uint64_t size = 0;
      auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
      d.line.clear();
      if (ec != std::errc() || end == line.data()) {
        emit(d, dir, false);
        d.state = State::kLost;
        return n;
      }
      if (size == 0) {
        d.state = State::kTrailer;
      } else {
        d.state = State::kChunkData;
        d.remaining = size + 2;  // the data and its CRLF
      }
      return n;
    }
    case State::kUntilClose:
      take(d, bytes);
      return bytes.size();
    default:
      return bytes.size();
  }
}

void PduFramer::consume(Stream& s, Direction& d, int dir, std::span<const std::byte> bytes,
                        std::uint64_t frame) {
  currentFrame_ = frame;
  while (!bytes.empty()) {
    if (d.state == State::kLost) {
      // A PDU start only at a delivery boundary: the rest of this delivery is skipped.
      return;
    }
    bool http = d.protocol == PduProtocol::kHttpRequest || d.protocol == PduProtocol::kHttpResponse;
    if (http && d.state == State::kHeader && d.length == 0 && bytes.size() >= 8 &&
        !startsPdu(d, bytes)) {
      // What follows an HTTP message is not a new one (a body longer than announced).
      d.state = State::kLost;
      return;
    }
    std::size_t n = step(s, d, dir, bytes);
    if (n == 0) return;  // no progress: the state machine wants a new start
    bytes = bytes.subspan(n);
  }
}

void PduFramer::add(const Delivery& delivery) {
  Stream& s = streams_[delivery.stream];
  currentStream_ = delivery.stream;
  currentArrival_ = delivery.arrival;
  const int dir = delivery.direction;
  Direction& d = s.directions[dir];
  d.from = delivery.from;
  d.to = delivery.to;
  std::span<const std::byte> bytes = delivery.bytes;
  if (d.state == State::kUndecided) {
    if (!choose(d, delivery)) {
      d.state = State::kUnframed;
      return;
    }
    d.next = delivery.offset;
    if (startsPdu(d, bytes)) {
      begin(d, delivery.offset);
    } else {
      d.state = State::kLost;  // a known port, but the capture began inside a PDU
    }
  }
  if (d.state == State::kUnframed) return;
  if (delivery.offset != d.next) {
    // A gap: the open PDU lost bytes.
    bool open = d.state != State::kLost && d.length != 0;
    if (open) {
      currentFrame_ = delivery.frame;
      emit(d, dir, false);
    }
    d.state = State::kLost;
  }
  d.next = delivery.offset + bytes.size();
  if (d.state == State::kLost) {
    if (!startsPdu(d, bytes)) return;
    ++stats_.resyncs;
    d.afterGap = true;
    begin(d, delivery.offset);
  }
  consume(s, d, dir, bytes, delivery.frame);
}

std::uint64_t PduFramer::oldestOpenFrame(std::uint64_t maxLength) const {
  std::uint64_t oldest = UINT64_MAX;
  for (const auto& [id, s] : streams_) {
    for (const Direction& d : s.directions) {
      if (d.frames.empty() || d.length > maxLength) continue;
      if (d.state == State::kBody && d.length + d.remaining > maxLength) continue;
      oldest = std::min(oldest, d.minFrame);
    }
  }
  return oldest;
}

void PduFramer::finish() {
  currentArrival_ = 0;
  for (auto& [id, s] : streams_) {
    currentStream_ = id;
    for (int dir = 0; dir < 2; ++dir) {
      Direction& d = s.directions[dir];
      if (d.state == State::kUndecided || d.state == State::kUnframed || d.state == State::kLost ||
          d.length == 0)
        continue;
      emit(d, dir, d.state == State::kUntilClose);
    }
  }
}

}  // namespace warden::reassembly
