// Test support: run a real tool (tshark, capinfos, editcap, tcpdump) and read its output, and find
// the real captures tests compare on. Nothing here is used outside tests.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
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

// "a,b,c" -> {"a", "b", "c"} (tshark's aggregated -T fields values); "" -> {}.
std::vector<std::string> splitList(const std::string& text, char separator = ',');

// Quotes a path for /bin/sh.
std::string shellQuote(const std::string& text);

// Bytes as lowercase hex without separators, as tshark prints *.data fields and follow,raw.
std::string hexString(std::span<const std::byte> bytes);

bool haveTool(const std::string& name);

// Captures under a folder, sorted; empty when the folder does not exist.
std::vector<std::string> filesUnder(const std::string& folder,
                                    const std::vector<std::string>& suffixes);

// ../shared/captures, the gopacket pcapng conformance set (le and be), gopacket's pcap samples and
// dpkt's example captures: every real capture this machine has for tests.
std::vector<std::string> realCaptures();

// A gtest parameter name for a capture path: "<folder>_<file>" with every other character '_'.
std::string captureTestName(const std::string& path);

// A fresh empty directory under the system temp folder (removed by the caller if wanted).
std::string makeTempDir(const std::string& prefix);

// One packet as tshark shows it.
struct TsharkFrame {
  std::int64_t timestampNs;
  std::uint32_t wireLength;
  std::uint32_t capturedLength;
};
// tshark's packet rows. Wireshark 4.0 also numbers pcapng records that are not packets (custom
// blocks) as frames; they have no encapsulation type and are left out, as capinfos leaves them out
// of its count. A packet without a timestamp (a simple packet block) prints an empty time: 0 here.
std::vector<TsharkFrame> tsharkFrames(const std::string& path);

// "1700000000.123456789" -> ns, as tshark prints epoch times.
std::int64_t parseEpoch(std::string_view text);

struct CapinfosCount {
  bool error;
  std::size_t packets;  // read before the error, when there is one
};
CapinfosCount capinfosCount(const std::string& path);

// Every TCP stream of a capture as `tshark -q -z follow,tcp,raw,N` shows it: "A -> B" (tshark's
// node addresses, "10.0.0.1:80") -> the hex of what that direction carried. tshark's markers for
// bytes never captured ("[N bytes missing in capture file]" and a NUL) are taken out and counted
// in `missingMarkers`. Of an address/port pair tshark splits into two streams (port reuse), only
// the first stream is kept. `extraOptions` go on the tshark command line (-o ...).
struct FollowedStreams {
  std::map<std::string, std::string> directions;
  std::size_t missingMarkers = 0;
  std::size_t streams = 0;
};
Result<FollowedStreams> tsharkFollowTcp(const std::string& path,
                                        const std::string& extraOptions = "");

// Records real loopback traffic (testsupport/record_loopback.sh) into `dir`: the captures named
// ("http", "frag", "dns", "lossy"; none: the first three) as NAME.pcap. Fails when not root or a
// tool is missing.
Status recordLoopback(const std::string& dir, const std::vector<std::string>& names = {});

}  // namespace warden::testing
