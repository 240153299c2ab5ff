// DisplayFilter: a recursive-descent parser with a depth bound, values parsed by field type, and
// evaluation over the field table.
#include "decode/display_filter.h"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <cstring>

namespace warden::decode {

class FilterParser {
 public:
  FilterParser(std::string_view text, DisplayFilter& out) : text_(text), out_(out) {}

  Status run() {
    Result<int> root = orExpr(0);
    if (!root.ok()) return root.status();
    skipSpace();
    if (pos_ != text_.size()) return error("unexpected '{}'", text_.substr(pos_, 1));
    out_.root_ = *root;
    return Status();
  }

 private:
  using Node = DisplayFilter::Node;
  using Kind = DisplayFilter::Kind;
  using Op = DisplayFilter::Op;

  template <typename... Args>
  Status error(fmt::format_string<Args...> format, Args&&... args) {
    return InvalidArgumentError("display filter: at column {}: {}", pos_ + 1,
                                fmt::format(format, std::forward<Args>(args)...));
  }

  void skipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool take(std::string_view token) {
    skipSpace();
    if (text_.substr(pos_, token.size()) != token) return false;
    // Words must end at a word boundary ("and" is not the start of "android").
    if (std::isalpha(static_cast<unsigned char>(token[0]))) {
      std::size_t end = pos_ + token.size();
      if (end < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[end])) ||
                                 text_[end] == '.' || text_[end] == '_')) {
        return false;
      }
    }
    pos_ += token.size();
    return true;
  }
  static Node makeNode(Kind kind, int left = -1, int right = -1, const FieldDef* field = nullptr) {
    Node node;
    node.kind = kind;
    node.left = left;
    node.right = right;
    node.field = field;
    return node;
  }
  int add(Node node) {
    out_.nodes_.push_back(std::move(node));
    return static_cast<int>(out_.nodes_.size() - 1);
  }

  Result<int> orExpr(int depth) {
    WARDEN_ASSIGN_OR_RETURN(int left, andExpr(depth));
    while (take("||") || take("or")) {
      WARDEN_ASSIGN_OR_RETURN(int right, andExpr(depth));
      left = add(makeNode(Kind::kOr, left, right));
    }
    return left;
  }
  Result<int> andExpr(int depth) {
    WARDEN_ASSIGN_OR_RETURN(int left, notExpr(depth));
    while (take("&&") || take("and")) {
      WARDEN_ASSIGN_OR_RETURN(int right, notExpr(depth));
      left = add(makeNode(Kind::kAnd, left, right));
    }
    return left;
  }
  Result<int> notExpr(int depth) {
    if (depth > DisplayFilter::kMaxDepth) {
      return error("nested deeper than {} levels", DisplayFilter::kMaxDepth);
    }
    skipSpace();
    if (pos_ + 1 < text_.size() && text_[pos_] == '!' && text_[pos_ + 1] != '=') {
      ++pos_;
      WARDEN_ASSIGN_OR_RETURN(int inner, notExpr(depth + 1));
      return add(makeNode(Kind::kNot, inner));
    }
    if (take("not")) {
      WARDEN_ASSIGN_OR_RETURN(int inner, notExpr(depth + 1));
      return add(makeNode(Kind::kNot, inner));
    }
    if (take("(")) {
      WARDEN_ASSIGN_OR_RETURN(int inner, orExpr(depth + 1));
      if (!take(")")) return error("expected ')'");
      return inner;
    }
    return comparison();
  }

  std::string_view word() {
    skipSpace();
    std::size_t start = pos_;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' ||
          c == '/' || c == '-') {
        ++pos_;
      } else {
        break;
      }
    }
    return text_.substr(start, pos_ - start);
  }

  Result<int> comparison() {
    std::size_t fieldColumn = (skipSpace(), pos_);
    std::string_view name = word();
    if (name.empty()) {
      return pos_ < text_.size() ? error("expected a field name, found '{}'", text_.substr(pos_, 1))
                                 : error("expected a field name at the end");
    }
    const FieldDef* field = findField(name);
    if (field == nullptr) {
      for (int l = 0; l <= static_cast<int>(Layer::kData); ++l) {
        if (layerName(static_cast<Layer>(l)) == name) {
          Node node = makeNode(Kind::kProtocol);
          node.layer = static_cast<Layer>(l);
          return add(std::move(node));
        }
      }
      pos_ = fieldColumn;
      return error("unknown field or protocol '{}'", name);
    }
    Op op;
    if (take("==") || take("eq")) {
      op = Op::kEq;
    } else if (take("!=") || take("ne")) {
      op = Op::kNe;
    } else if (take("<=") || take("le")) {
      op = Op::kLe;
    } else if (take(">=") || take("ge")) {
      op = Op::kGe;
    } else if (take("<") || take("lt")) {
      op = Op::kLt;
    } else if (take(">") || take("gt")) {
      op = Op::kGt;
    } else {
      return add(makeNode(Kind::kExists, -1, -1, field));
    }
    Node node = makeNode(Kind::kCompare, -1, -1, field);
    node.op = op;
    WARDEN_TRY(value(node));
    bool ordered = op != Op::kEq && op != Op::kNe;
    if (ordered && (field->type == FieldType::kMac || field->type == FieldType::kAddress ||
                    field->type == FieldType::kBool)) {
      return error("'{}' cannot be ordered; use == or !=", field->name);
    }
    return add(std::move(node));
  }

  Status value(Node& node) {
    skipSpace();
    std::size_t column = pos_;
    FieldValue& v = node.value;
    v.type = node.field->type;
    if (node.field->type == FieldType::kString) {
      if (pos_ < text_.size() && text_[pos_] == '"') {
        ++pos_;
        while (pos_ < text_.size() && text_[pos_] != '"') {
          if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
          node.text += text_[pos_++];
        }
        if (pos_ >= text_.size()) return error("unterminated string");
        ++pos_;
      } else {
        node.text = std::string(word());
      }
      return Status();
    }
    std::string_view token = word();
    if (token.empty()) return error("expected a value for '{}'", node.field->name);
    auto bad = [&](std::string_view what) {
      pos_ = column;
      return error("'{}' is not {} (as '{}' needs)", token, what, node.field->name);
    };
    switch (node.field->type) {
      case FieldType::kUnsigned:
      case FieldType::kBool: {
        std::string_view digits = token == "true" ? "1" : token == "false" ? "0" : token;
        int base = 10;
        if (digits.starts_with("0x") || digits.starts_with("0X")) {
          digits.remove_prefix(2);
          base = 16;
        }
        auto [end, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), v.number, base);
        if (ec != std::errc() || end != digits.data() + digits.size()) return bad("a number");
        return Status();
      }
      case FieldType::kMac: {
        unsigned b[6];
        char tail;
        std::string t(token);
        if (std::sscanf(t.c_str(), "%2x%*[:-]%2x%*[:-]%2x%*[:-]%2x%*[:-]%2x%*[:-]%2x%c", &b[0],
                        &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6) {
          return bad("a MAC address");
        }
        for (int i = 0; i < 6; ++i) v.mac[i] = static_cast<std::uint8_t>(b[i]);
        return Status();
      }
      case FieldType::kAddress: {
        int family = node.field->name.starts_with("ipv6") ? 6 : 4;
        std::string t(token);
        if (auto slash = t.find('/'); slash != std::string::npos) {
          int bits = -1;
          auto [end, ec] = std::from_chars(t.data() + slash + 1, t.data() + t.size(), bits);
          if (ec != std::errc() || end != t.data() + t.size() || bits < 0 ||
              bits > (family == 4 ? 32 : 128)) {
            return bad("an address with a valid prefix length");
          }
          node.prefixBits = bits;
          t.resize(slash);
        }
        v.address.family = static_cast<std::uint8_t>(family);
        if (inet_pton(family == 4 ? AF_INET : AF_INET6, t.c_str(), v.address.bytes.data()) != 1) {
          return bad(family == 4 ? "an IPv4 address" : "an IPv6 address");
        }
        return Status();
      }
      case FieldType::kString:
        break;
    }
    return Status();
  }

  std::string_view text_;
  DisplayFilter& out_;
  std::size_t pos_ = 0;
};

Result<DisplayFilter> DisplayFilter::parse(std::string_view text) {
  if (text.size() > kMaxLength) {
    return LimitExceededError("display filter of {} characters exceeds the limit of {}",
                              text.size(), kMaxLength);
  }
  DisplayFilter filter;
  filter.text_ = std::string(text);
  WARDEN_TRY(FilterParser(filter.text_, filter).run());
  return filter;
}

bool DisplayFilter::compare(const Node& node, const FieldValue& value) const {
  const FieldValue& want = node.value;
  int order = 0;  // <0, 0, >0 as value compares to want
  switch (want.type) {
    case FieldType::kUnsigned:
    case FieldType::kBool:
      order = value.number < want.number ? -1 : value.number > want.number ? 1 : 0;
      break;
    case FieldType::kString:
      order = value.text.compare(node.text);
      break;
    case FieldType::kMac:
      order = value.mac == want.mac ? 0 : 1;
      break;
    case FieldType::kAddress: {
      if (value.address.family != want.address.family) return node.op == Op::kNe;
      int bits = node.prefixBits >= 0 ? node.prefixBits : (want.address.family == 4 ? 32 : 128);
      bool equal = true;
      for (int i = 0; i < bits && equal; i += 8) {
        std::uint8_t mask =
            bits - i >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - (bits - i)));
        equal = (value.address.bytes[i / 8] & mask) == (want.address.bytes[i / 8] & mask);
      }
      order = equal ? 0 : 1;
      break;
    }
  }
  switch (node.op) {
    case Op::kEq:
      return order == 0;
    case Op::kNe:
      return order != 0;
    case Op::kLt:
      return order < 0;
    case Op::kLe:
      return order <= 0;
    case Op::kGt:
      return order > 0;
    case Op::kGe:
      return order >= 0;
  }
  return false;
}

bool DisplayFilter::eval(int index, const DecodedFrame& frame) const {
  const Node& node = nodes_[static_cast<std::size_t>(index)];
  switch (node.kind) {
    case Kind::kOr:
      return eval(node.left, frame) || eval(node.right, frame);
    case Kind::kAnd:
      return eval(node.left, frame) && eval(node.right, frame);
    case Kind::kNot:
      return !eval(node.left, frame);
    case Kind::kProtocol:
      return frame.has(node.layer);
    case Kind::kExists: {
      FieldValue values[2];
      return node.field->get(frame, values) > 0;
    }
    case Kind::kCompare: {
      FieldValue values[2];
      int n = node.field->get(frame, values);
      if (node.op == Op::kNe) {
        // True when the field is present and no value equals (Wireshark 4's "!=").
        if (n == 0) return false;
        for (int i = 0; i < n; ++i) {
          if (!compare(node, values[i])) return false;
        }
        return true;
      }
      for (int i = 0; i < n; ++i) {
        if (compare(node, values[i])) return true;
      }
      return false;
    }
  }
  return false;
}

bool DisplayFilter::matches(const DecodedFrame& frame) const { return eval(root_, frame); }

}  // namespace warden::decode
