// Test helpers for the built-in experts: run one through a Session exactly as `warden run` does,
// and the captures they are compared with tshark on (every real capture on the machine, plus
// traffic recorded once per test binary on loopback).
#pragma once

#include <string>
#include <vector>

#include "experts/results.h"

namespace warden::experts::builtin_testing {

// Runs built-in `id` with `options` over the capture at `path`.
RunResult runBuiltin(const std::string& path, const std::string& id, const std::string& options);

// The folder with http.pcap, frag.pcap, dns.pcap and lossy.pcap recorded on loopback for this
// test binary (recorded at the first call); empty with `why` set when recording is impossible.
const std::string& recordedDir(std::string* why);

// A column of an event by name; a test failure (and a dummy value) when it is missing.
const ColumnValue& column(const Event& event, const std::string& name);

// tshark's -T fields rows (tab-separated values) for a capture; -n, stderr dropped.
std::vector<std::vector<std::string>> tsharkRows(const std::string& path,
                                                 const std::string& arguments);

}  // namespace warden::experts::builtin_testing
