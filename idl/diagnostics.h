// Diagnostics of an IDL compilation: every stage reports into one DiagnosticSink and carries on,
// so a run lists every error it can find (as MIDL does), each with file:line:col and a caret
// excerpt of the line.
#pragma once

#include <fmt/format.h>

#include <string>
#include <vector>

#include "idl/source.h"

namespace warden::idl {

enum class Severity { kError, kWarning, kNote };

struct Diagnostic {
  Severity severity;
  Span span;
  std::string message;
};

class DiagnosticSink {
 public:
  // Past this many diagnostics (hostile input) the rest are only counted.
  static constexpr std::size_t kMaxKept = 500;

  void report(Severity severity, Span span, std::string message);
  template <typename... Args>
  void error(Span span, fmt::format_string<Args...> format, Args&&... args) {
    report(Severity::kError, span, fmt::format(format, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void warning(Span span, fmt::format_string<Args...> format, Args&&... args) {
    report(Severity::kWarning, span, fmt::format(format, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void note(Span span, fmt::format_string<Args...> format, Args&&... args) {
    report(Severity::kNote, span, fmt::format(format, std::forward<Args>(args)...));
  }

  std::size_t errorCount() const { return errors_; }
  const std::vector<Diagnostic>& diagnostics() const { return kept_; }
  // Every diagnostic as "file:line:col: error: message", the line and a caret under the span;
  // a last line counts what was dropped past kMaxKept.
  std::string format(const SourceSet& sources) const;

 private:
  std::vector<Diagnostic> kept_;
  std::size_t errors_ = 0;
  std::size_t dropped_ = 0;
};

}  // namespace warden::idl
