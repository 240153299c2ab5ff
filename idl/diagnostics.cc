// Clang-style rendering: the excerpt replaces tabs by spaces so the caret lines up.
#include "idl/diagnostics.h"

#include <algorithm>

namespace warden::idl {

void DiagnosticSink::report(Severity severity, Span span, std::string message) {
  if (severity == Severity::kError) ++errors_;
  if (kept_.size() >= kMaxKept) {
    ++dropped_;
    return;
  }
  kept_.push_back(Diagnostic{severity, span, std::move(message)});
}

std::string DiagnosticSink::format(const SourceSet& sources) const {
  std::string out;
  for (const Diagnostic& d : kept_) {
    const char* kind = d.severity == Severity::kError     ? "error"
                       : d.severity == Severity::kWarning ? "warning"
                                                          : "note";
    if (d.span.begin.file >= sources.size()) {
      out += fmt::format("{}: {}\n", kind, d.message);
      continue;
    }
    LineCol lc = sources.lineCol(d.span.begin);
    out += fmt::format("{}:{}:{}: {}: {}\n", sources.file(d.span.begin.file).path, lc.line,
                       lc.column, kind, d.message);
    std::string line(sources.lineText(d.span.begin));
    std::replace(line.begin(), line.end(), '\t', ' ');
    std::size_t caret = std::min<std::size_t>(lc.column - 1, line.size());
    std::size_t width =
        std::clamp<std::size_t>(d.span.length, 1, std::max<std::size_t>(line.size() - caret, 1));
    out += fmt::format("{:>5} | {}\n      | {}^{}\n", lc.line, line, std::string(caret, ' '),
                       std::string(width - 1, '~'));
  }
  if (dropped_ > 0) out += fmt::format("... and {} more diagnostics not shown\n", dropped_);
  return out;
}

}  // namespace warden::idl
