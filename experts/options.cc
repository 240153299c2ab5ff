// Options: key=value lists and JSON objects, both flattened to name -> text.
#include "experts/options.h"

#include <nlohmann/json.hpp>

namespace warden::experts {

namespace {

bool isSeparator(char c) { return c == ',' || c == ';'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<Options> Options::parse(std::string_view text) {
  Options options;
  options.text_ = std::string(text);
  std::string_view body = trim(text);
  if (body.empty()) return options;
  auto add = [&](std::string name, std::string value) -> Status {
    for (const Entry& e : options.entries_) {
      if (e.name == name) return InvalidArgumentError("option '{}' given twice", name);
    }
    options.entries_.push_back({std::move(name), std::move(value), false});
    return Status();
  };
  if (body.front() == '{') {
    nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded() || !json.is_object()) {
      return MalformedError("options: not a valid JSON object: {}", body);
    }
    for (const auto& [name, value] : json.items()) {
      WARDEN_TRY(add(name, value.is_string() ? value.get<std::string>() : value.dump()));
    }
    return options;
  }
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    while (i < n && (text[i] == ' ' || text[i] == '\t' || isSeparator(text[i]))) ++i;
    if (i >= n) break;
    std::size_t nameStart = i;
    while (i < n && text[i] != '=' && !isSeparator(text[i])) ++i;
    std::string name(trim(text.substr(nameStart, i - nameStart)));
    if (name.empty()) return MalformedError("options, column {}: an option without a name", i + 1);
    if (i >= n || text[i] != '=') {
      return MalformedError("options, column {}: option '{}' needs a value (name=value)",
                            nameStart + 1, name);
    }
    ++i;  // '='
    while (i < n && text[i] == ' ') ++i;
    std::string value;
    if (i < n && (text[i] == '"' || text[i] == '\'')) {
      char quote = text[i];
      std::size_t open = i++;
      while (i < n && text[i] != quote) {
        if (text[i] == '\\' && i + 1 < n) ++i;
        value += text[i++];
      }
      if (i >= n) return MalformedError("options, column {}: unterminated quote", open + 1);
      ++i;
      while (i < n && text[i] == ' ') ++i;
      if (i < n && !isSeparator(text[i])) {
        return MalformedError("options, column {}: expected ',' after the quoted value", i + 1);
      }
    } else {
      std::size_t valueStart = i;
      while (i < n && !isSeparator(text[i])) ++i;
      value = std::string(trim(text.substr(valueStart, i - valueStart)));
    }
    WARDEN_TRY(add(std::move(name), std::move(value)));
  }
  return options;
}

const std::string* Options::find(std::string_view name) {
  for (Entry& e : entries_) {
    if (e.name == name) {
      e.used = true;
      return &e.value;
    }
  }
  return nullptr;
}

std::vector<std::string> Options::unused() const {
  std::vector<std::string> names;
  for (const Entry& e : entries_) {
    if (!e.used) names.push_back(e.name);
  }
  return names;
}

}  // namespace warden::experts
