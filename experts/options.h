// Expert options from the command line, instead of NM2's configuration dialog:
//   -e propdist:field=tcp.window_size_value,bit=3      key=value pairs (',' or ';' between)
//   -e propdist:{"field": "tcp.window_size_value"}     a JSON object (values as text)
// Values may be quoted ("a,b" keeps its comma). The host remembers which options the expert read,
// so a misspelt option is reported instead of silently ignored.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace warden::experts {

class Options {
 public:
  // Malformed (with the column) for text that is neither form.
  static Result<Options> parse(std::string_view text);

  // The value of `name`, marking it as used; null when absent.
  const std::string* find(std::string_view name);
  bool empty() const { return entries_.empty(); }
  // Names given but never asked for, in the order given.
  std::vector<std::string> unused() const;
  const std::string& text() const { return text_; }

 private:
  struct Entry {
    std::string name;
    std::string value;
    bool used = false;
  };
  std::string text_;
  std::vector<Entry> entries_;
};

}  // namespace warden::experts
