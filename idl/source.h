// Source files of one IDL compilation and positions in them. Every token and AST node carries a
// Span (file, byte offset, length), which diagnostics turn into file:line:col and a caret excerpt.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace warden::idl {

struct Loc {
  std::uint32_t file = 0;  // index in the SourceSet
  std::uint32_t offset = 0;
};

struct Span {
  Loc begin;
  std::uint32_t length = 0;
};

struct LineCol {
  std::uint32_t line = 1;    // 1-based
  std::uint32_t column = 1;  // 1-based, in bytes
};

struct SourceFile {
  std::string path;  // as the user or an import named it, for messages
  std::string text;
  std::vector<std::uint32_t> lineStarts;  // byte offset of each line
};

// Owns the files; their text stays put (views into it live in tokens and the AST).
class SourceSet {
 public:
  // The file's index.
  std::uint32_t add(std::string path, std::string text);
  const SourceFile& file(std::uint32_t index) const { return files_[index]; }
  std::size_t size() const { return files_.size(); }
  LineCol lineCol(Loc loc) const;
  // The line holding `loc`, without its newline.
  std::string_view lineText(Loc loc) const;
  std::string_view text(Span span) const;

 private:
  std::deque<SourceFile> files_;
};

}  // namespace warden::idl
