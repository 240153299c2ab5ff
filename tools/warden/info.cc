// `warden info FILE`: what a capture holds, as capinfos would say it (format, interfaces and link
// types, frames, time span, bytes), and with --frames one line per frame. --json for machines.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "base/time_format.h"
#include "capture/capture.h"
#include "decode/decoder.h"
#include "tools/warden/commands.h"

namespace warden::cli {
namespace {

using capture::Capture;

struct InfoOptions {
  std::string path;
  bool json = false;
  bool frames = false;
  bool strict = false;
};

// "2023-11-14 22:13:20.123456789 UTC".
std::string utcTime(std::int64_t ns) { return formatUtcTime(ns) + " UTC"; }

std::string seconds(std::int64_t ns) {
  return fmt::format("{:.9f}", static_cast<double>(ns) / 1e9);
}

// Source and destination as a frame list shows them: IP addresses, else MAC addresses.
std::pair<std::string, std::string> endpoints(const decode::DecodedFrame& d) {
  if (d.ipVersion != 0) return {d.ipSrc().toString(), d.ipDst().toString()};
  if (d.hasEthernet) return {decode::macToString(d.ethSrc), decode::macToString(d.ethDst)};
  return {"", ""};
}

int runInfo(const InfoOptions& options) {
  Result<Capture> opened =
      Capture::open(options.path, capture::OpenOptions{.strict = options.strict});
  if (!opened.ok()) {
    std::fprintf(stderr, "warden info: %s\n", opened.status().toString().c_str());
    return 1;
  }
  const Capture& c = *opened;
  std::uint64_t captured = 0, wire = 0;
  std::int64_t first = 0, last = 0;
  for (std::size_t i = 0; i < c.frameCount(); ++i) {
    const capture::FrameRecord& r = c.records()[i];
    captured += r.capturedLength;
    wire += r.wireLength;
    first = i == 0 ? r.timestampNs : std::min(first, r.timestampNs);
    last = i == 0 ? r.timestampNs : std::max(last, r.timestampNs);
  }
  std::set<std::string> linkTypes;
  for (const auto& iface : c.interfaces()) linkTypes.insert(capture::linkTypeName(iface.linkType));

  if (options.json) {
    nlohmann::json interfaces = nlohmann::json::array();
    for (const auto& iface : c.interfaces()) {
      interfaces.push_back({{"link_type", iface.linkType},
                            {"link_type_name", capture::linkTypeName(iface.linkType)},
                            {"snaplen", iface.snaplen},
                            {"name", std::string(iface.name)},
                            {"description", std::string(iface.description)},
                            {"section", iface.section},
                            {"timestamp_resolution", iface.timestampResolution}});
    }
    nlohmann::json warnings = nlohmann::json::array();
    for (const Status& w : c.warnings()) warnings.push_back(w.toString());
    nlohmann::json out = {{"file", c.name()},           {"format", capture::formatName(c.format())},
                          {"version", c.version()},     {"file_size", c.fileSize()},
                          {"interfaces", interfaces},   {"frames", c.frameCount()},
                          {"captured_bytes", captured}, {"wire_bytes", wire},
                          {"warnings", warnings}};
    if (c.frameCount() > 0) {
      out["first_time_ns"] = first;
      out["last_time_ns"] = last;
      out["duration_s"] = static_cast<double>(last - first) / 1e9;
    }
    if (options.frames) {
      nlohmann::json frames = nlohmann::json::array();
      for (std::size_t i = 0; i < c.frameCount(); ++i) {
        capture::Frame f = c.frame(i);
        nlohmann::json row = {{"number", f.number},       {"time_ns", f.timestampNs},
                              {"length", f.wireLength},   {"captured", f.capturedLength},
                              {"interface", f.interface}, {"link_type", f.linkType}};
        if (!f.comment.empty()) row["comment"] = std::string(f.comment);
        frames.push_back(std::move(row));
      }
      out["frame_list"] = std::move(frames);
    }
    std::puts(out.dump(2).c_str());
    return 0;
  }

  fmt::print("File:        {}\n", c.name());
  fmt::print("Format:      {} {} ({} bytes)\n", capture::formatName(c.format()), c.version(),
             c.fileSize());
  fmt::print("Link types:  {}\n", fmt::join(linkTypes, ", "));
  fmt::print("Interfaces:  {}\n", c.interfaces().size());
  for (std::size_t i = 0; i < c.interfaces().size(); ++i) {
    const auto& iface = c.interfaces()[i];
    fmt::print("  {:>3}  {:<16} snaplen {:<6} time {}{}{}\n", i,
               capture::linkTypeName(iface.linkType), iface.snaplen, iface.timestampResolution,
               iface.name.empty() ? "" : "  name ", iface.name);
  }
  fmt::print("Frames:      {}\n", c.frameCount());
  fmt::print("Bytes:       {} on the wire, {} captured\n", wire, captured);
  if (c.frameCount() > 0) {
    fmt::print("First frame: {}\n", utcTime(first));
    fmt::print("Last frame:  {}\n", utcTime(last));
    fmt::print("Duration:    {} s\n", seconds(last - first));
  }
  for (std::string_view comment : c.sectionComments()) fmt::print("Comment:     {}\n", comment);
  for (const Status& w : c.warnings()) fmt::print("Warning:     {}\n", w.toString());
  if (options.frames) {
    fmt::print("\n{:>8}  {:>14}  {:<39}  {:<39}  {:>6}  {}\n", "frame", "time (s)", "source",
               "destination", "length", "protocols");
    decode::DecodedFrame d;
    for (std::size_t i = 0; i < c.frameCount(); ++i) {
      capture::Frame f = c.frame(i);
      decode::decodeFrame(f.bytes, f.linkType, f.wireLength, d);
      auto [src, dst] = endpoints(d);
      std::string note;
      if (d.malformed.present) {
        note =
            fmt::format("  [malformed {} at offset {}: {}]", decode::layerName(d.malformed.layer),
                        d.malformed.offset, d.malformed.reason);
      }
      if (!f.comment.empty()) note += fmt::format("  # {}", f.comment);
      fmt::print("{:>8}  {:>14}  {:<39}  {:<39}  {:>6}  {}{}\n", f.number,
                 seconds(f.timestampNs - first), src, dst, f.wireLength, d.protocols(), note);
    }
  }
  return 0;
}

}  // namespace

void addInfo(CLI::App& app, int& exitCode) {
  auto options = std::make_shared<InfoOptions>();
  CLI::App* sub = app.add_subcommand("info", "Describe a pcap, pcapng or NetMon 2.x capture");
  sub->add_option("file", options->path, "the capture")->required();
  sub->add_flag("--json", options->json, "print one JSON document");
  sub->add_flag("--frames", options->frames, "list every frame");
  sub->add_flag("--strict", options->strict,
                "fail on the first problem instead of stopping at the last good frame");
  sub->callback([options, &exitCode] { exitCode = runInfo(*options); });
}

}  // namespace warden::cli
