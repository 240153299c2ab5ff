// Test support: run a real tool (tshark, capinfos, editcap, tcpdump) and read its output, and find
// the real captures tests compare on. Nothing here is used outside tests.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace warden::testing {

struct CommandResult {
  int exitCode = -1;
  std::string out;  // standard output (and standard error with Stderr::kMerge)
};

enum class Stderr { kDiscard, kMerge };

// Runs `command` through /bin/sh. An error only when it could not be started.
Result<CommandResult> run(const std::string& command, Stderr stderrMode = Stderr::kDiscard);

// Quotes a path for /bin/sh.
std::string shellQuote(const std::string& text);

bool haveTool(const std::string& name);

// Captures under a folder, sorted; empty when the folder does not exist.
std::vector<std::string> filesUnder(const std::string& folder,
                                    const std::vector<std::string>& suffixes);

// ../shared/captures, the gopacket pcapng conformance set (le and be), gopacket's pcap samples and
// dpkt's example captures: every real capture this machine has for tests.
std::vector<std::string> realCaptures();

// A fresh empty directory under the system temp folder (removed by the caller if wanted).
std::string makeTempDir(const std::string& prefix);

}  // namespace warden::testing
