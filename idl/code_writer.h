// CodeWriter: the one way emitters write text. Lines with the current indentation, blocks that
// indent, and nothing that can fail: an emitter's input has passed sema.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace warden::idl {

// `text` with four spaces before each non-empty line, every line ending in '\n': a block of
// generated code one level deeper.
inline std::string indentLines(std::string_view text) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) out += "    ";
    out.append(text.substr(start, end - start));
    out += '\n';
    start = end + 1;
  }
  return out;
}

class CodeWriter {
 public:
  // One line at the current indentation ("" writes an empty line).
  template <typename... Args>
  void line(fmt::format_string<Args...> format, Args&&... args) {
    raw(fmt::format(format, std::forward<Args>(args)...));
  }
  // `text` as one line (it may hold newlines: each gets the indentation).
  void raw(std::string_view text) {
    std::size_t start = 0;
    do {
      std::size_t end = text.find('\n', start);
      std::string_view piece =
          text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
      if (!piece.empty()) out_.append(indent_ * 4, ' ');
      out_ += piece;
      out_ += '\n';
      start = end == std::string_view::npos ? text.size() + 1 : end + 1;
    } while (start <= text.size());
  }
  void indent() { ++indent_; }
  void dedent() { --indent_; }
  const std::string& text() const { return out_; }

 private:
  std::string out_;
  std::size_t indent_ = 0;
};

}  // namespace warden::idl
