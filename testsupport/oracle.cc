// Test support: popen-based command runner and capture discovery.
#include "testsupport/oracle.h"

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>

namespace warden::testing {

Result<CommandResult> run(const std::string& command, Stderr stderrMode) {
  std::string full = command + (stderrMode == Stderr::kMerge ? " 2>&1" : " 2>/dev/null");
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) return IoError("cannot run: {}", command);
  CommandResult result;
  std::array<char, 65536> chunk;
  std::size_t n;
  while ((n = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0)
    result.out.append(chunk.data(), n);
  int status = pclose(pipe);
  result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string hexString(std::span<const std::byte> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::byte b : bytes) {
    out += kHex[std::to_integer<int>(b) >> 4];
    out += kHex[std::to_integer<int>(b) & 15];
  }
  return out;
}

std::vector<std::string> splitList(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string v; std::getline(in, v, separator);) out.push_back(v);
  return out;
}

std::string shellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

bool haveTool(const std::string& name) {
  Result<CommandResult> r = run("command -v " + shellQuote(name));
  return r.ok() && r->exitCode == 0;
}

std::vector<std::string> filesUnder(const std::string& folder,
                                    const std::vector<std::string>& suffixes) {
  std::vector<std::string> files;
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec)) return files;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    std::string path = entry.path().string();
    for (const std::string& suffix : suffixes) {
      if (path.size() >= suffix.size() && path.ends_with(suffix)) files.push_back(path);
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> realCaptures() {
  const std::vector<std::string> suffixes = {".pcap", ".pcapng", ".cap"};
  std::vector<std::string> all;
  const std::string gopacket = "/usr/share/gocode/src/github.com/google/gopacket";
  for (const std::string& folder :
       {std::string(WARDEN_SHARED_DIR) + "/captures", gopacket + "/pcapgo/tests/le",
        gopacket + "/pcapgo/tests/be", gopacket + "/pcap",
        std::string("/usr/share/doc/python3-dpkt/examples/data")}) {
    for (std::string& f : filesUnder(folder, suffixes)) all.push_back(std::move(f));
  }
  return all;
}

std::string captureTestName(const std::string& path) {
  std::filesystem::path p(path);
  std::string name = p.parent_path().filename().string() + "_" + p.filename().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

std::string makeTempDir(const std::string& prefix) {
  std::string path = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(path.data()) == nullptr) return {};
  return path;
}

std::int64_t parseEpoch(std::string_view text) {
  bool negative = !text.empty() && text[0] == '-';
  if (negative) text.remove_prefix(1);
  auto dot = text.find('.');
  std::int64_t seconds = 0, fraction = 0;
  std::from_chars(text.data(), text.data() + (dot == std::string_view::npos ? text.size() : dot),
                  seconds);
  if (dot != std::string_view::npos) {
    std::string digits(text.substr(dot + 1));
    digits.resize(9, '0');
    std::from_chars(digits.data(), digits.data() + 9, fraction);
  }
  std::int64_t ns = seconds * 1'000'000'000 + fraction;
  return negative ? -ns : ns;
}

std::vector<TsharkFrame> tsharkFrames(const std::string& path) {
  Result<CommandResult> r =
      run("tshark -n -r " + shellQuote(path) +
          " -T fields -E separator=, -e frame.encap_type -e frame.time_epoch -e frame.len "
          "-e frame.cap_len");
  std::vector<TsharkFrame> frames;
  if (!r.ok()) return frames;
  std::istringstream lines(r->out);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    std::string field;
    while (std::getline(fields, field, ',')) f.push_back(field);
    if (f.size() != 4 || f[0].empty()) continue;
    frames.push_back({parseEpoch(f[1]), static_cast<std::uint32_t>(std::stoul(f[2])),
                      static_cast<std::uint32_t>(std::stoul(f[3]))});
  }
  return frames;
}

CapinfosCount capinfosCount(const std::string& path) {
  Result<CommandResult> r = run("capinfos -c -M " + shellQuote(path), Stderr::kMerge);
  CapinfosCount count{true, 0};
  if (!r.ok()) return count;
  const std::string& out = r->out;
  if (auto after = out.find("after reading "); after != std::string::npos) {
    count = {true, std::stoul(out.substr(after + 14))};
  } else if (auto at = out.find("Number of packets:");
             at != std::string::npos && r->exitCode == 0) {
    count = {false, std::stoul(out.substr(at + 18))};
  }
  return count;
}

Result<FollowedStreams> tsharkFollowTcp(const std::string& path, const std::string& extraOptions) {
  FollowedStreams out;
  auto streams = run("tshark -n -r " + shellQuote(path) + " " + extraOptions +
                     " -Y tcp -T fields -e tcp.stream");
  if (!streams.ok()) return streams.status();
  std::set<std::string> indexes;
  std::stringstream in(streams->out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) indexes.insert(line);
  }
  out.streams = indexes.size();
  if (indexes.empty()) return out;
  if (indexes.size() > 500)
    return LimitExceededError("{}: too many streams for one tshark run", path);
  std::string command = "tshark -n -r " + shellQuote(path) + " " + extraOptions + " -q";
  for (const std::string& index : indexes) command += " -z follow,tcp,raw," + index;
  auto follow = run(command);
  if (!follow.ok()) return follow.status();
  std::map<std::string, int> seenPairs;  // port reuse makes two tshark streams of one pair
  std::string node0, node1, hex0, hex1;
  auto flush = [&] {
    if (node0.empty()) return;
    if (++seenPairs[node0 + node1] == 1 && ++seenPairs[node1 + node0] == 1) {
      if (!hex0.empty()) out.directions[node0 + " -> " + node1] = hex0;
      if (!hex1.empty()) out.directions[node1 + " -> " + node0] = hex1;
    }
    node0.clear();
    hex0.clear();
    hex1.clear();
  };
  std::stringstream lines(follow->out);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("=====")) {
      flush();
    } else if (line.starts_with("Node 0: ")) {
      node0 = line.substr(8);
    } else if (line.starts_with("Node 1: ")) {
      node1 = line.substr(8);
    } else if (line.starts_with("\t")) {
      hex1 += line.substr(1);
    } else if (!line.empty() && !line.starts_with("Follow:") && !line.starts_with("Filter:")) {
      hex0 += line;
    }
  }
  flush();
  static const std::string kMarker =
      hexString(std::as_bytes(std::span(std::string_view(" bytes missing in capture file]"))));
  for (auto& [direction, hex] : out.directions) {
    for (std::size_t at; (at = hex.find(kMarker)) != std::string::npos;) {
      std::size_t open = hex.rfind("5b", at);  // '['
      while (open != std::string::npos && open % 2 != 0) open = hex.rfind("5b", open - 1);
      std::size_t end = at + kMarker.size() + 2;  // and the NUL
      if (open == std::string::npos || end > hex.size()) break;
      hex.erase(open, end - open);
      ++out.missingMarkers;
    }
  }
  return out;
}

Status recordLoopback(const std::string& dir, const std::vector<std::string>& names) {
  std::string command =
      "bash " + shellQuote(std::string(WARDEN_SOURCE_DIR) + "/testsupport/record_loopback.sh") +
      " " + shellQuote(dir);
  for (const std::string& name : names) {
    command += ' ';
    command += shellQuote(name);
  }
  Result<CommandResult> r = run(command, Stderr::kMerge);
  if (!r.ok()) return r.status();
  if (r->exitCode != 0) {
    return UnsupportedError(
        "recording loopback traffic failed (exit {}; root and tcpdump are "
        "needed): {}",
        r->exitCode, r->out);
  }
  return Status();
}

}  // namespace warden::testing
