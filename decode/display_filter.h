// DisplayFilter: a small Wireshark-style filter over the field table, e.g.
//   tcp.port == 80 && ip.src == 10.0.0.0/8
//   !(udp.port == 53) or dns.qry.name == "example.com"
//   tcp.flags.syn == 1 and tcp.window_size_value < 1000
// A bare field or protocol name (udp, ipv6, dns) tests presence. Comparisons hold when any of the
// field's values satisfies them (ip.addr == X: source or destination), except != which holds when
// no value equals (as in Wireshark 4). Parse errors name the column. Expressions are bounded in
// length and nesting.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "decode/decoder.h"
#include "decode/fields.h"

namespace warden::decode {

class DisplayFilter {
 public:
  static constexpr std::size_t kMaxLength = 4096;
  static constexpr int kMaxDepth = 64;

  static Result<DisplayFilter> parse(std::string_view text);
  bool matches(const DecodedFrame& frame) const;
  const std::string& text() const { return text_; }

 private:
  enum class Op : std::uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };
  enum class Kind : std::uint8_t { kOr, kAnd, kNot, kExists, kProtocol, kCompare };
  struct Node {
    Kind kind = Kind::kExists;
    int left = -1;
    int right = -1;
    const FieldDef* field = nullptr;
    Op op = Op::kEq;
    Layer layer = Layer::kData;  // kProtocol
    FieldValue value;
    int prefixBits = -1;  // addresses: CIDR prefix, -1 for an exact address
    std::string text;     // the value of a string comparison (value.text stays empty)
  };
  friend class FilterParser;

  bool eval(int node, const DecodedFrame& frame) const;
  bool compare(const Node& node, const FieldValue& value) const;

  std::string text_;
  std::vector<Node> nodes_;
  int root_ = -1;
};

}  // namespace warden::decode
