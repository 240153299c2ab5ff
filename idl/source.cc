// Line tables are built once per file; lookups are binary searches.
#include "idl/source.h"

#include <algorithm>

namespace warden::idl {

std::uint32_t SourceSet::add(std::string path, std::string text) {
  SourceFile& f = files_.emplace_back();
  f.path = std::move(path);
  f.text = std::move(text);
  f.lineStarts.push_back(0);
  for (std::uint32_t i = 0; i < f.text.size(); ++i) {
    if (f.text[i] == '\n') f.lineStarts.push_back(i + 1);
  }
  return static_cast<std::uint32_t>(files_.size() - 1);
}

LineCol SourceSet::lineCol(Loc loc) const {
  const SourceFile& f = files_.at(loc.file);
  auto it = std::upper_bound(f.lineStarts.begin(), f.lineStarts.end(), loc.offset);
  auto line = static_cast<std::uint32_t>(it - f.lineStarts.begin());  // >= 1: lineStarts[0] == 0
  return {line, loc.offset - f.lineStarts[line - 1] + 1};
}

std::string_view SourceSet::lineText(Loc loc) const {
  const SourceFile& f = files_.at(loc.file);
  LineCol lc = lineCol(loc);
  std::size_t start = f.lineStarts[lc.line - 1];
  std::size_t end = f.text.find('\n', start);
  if (end == std::string::npos) end = f.text.size();
  if (end > start && f.text[end - 1] == '\r') --end;
  return std::string_view(f.text).substr(start, end - start);
}

std::string_view SourceSet::text(Span span) const {
  const SourceFile& f = files_.at(span.begin.file);
  return std::string_view(f.text).substr(std::min<std::size_t>(span.begin.offset, f.text.size()),
                                         span.length);
}

}  // namespace warden::idl
