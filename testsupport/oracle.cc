// Test support: popen-based command runner and capture discovery.
#include "testsupport/oracle.h"

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

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

std::string makeTempDir(const std::string& prefix) {
  std::string path = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(path.data()) == nullptr) return {};
  return path;
}

}  // namespace warden::testing
