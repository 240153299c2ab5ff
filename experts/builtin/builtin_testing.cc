// Test helpers for the built-in experts.
#include "experts/builtin/builtin_testing.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "experts/builtin/builtins.h"
#include "experts/session.h"
#include "testsupport/oracle.h"

namespace warden::experts::builtin_testing {

RunResult runBuiltin(const std::string& path, const std::string& id, const std::string& options) {
  auto opened = capture::Capture::open(path);
  EXPECT_TRUE(opened.ok()) << path;
  if (!opened.ok()) return {};
  Catalog catalog;
  addBuiltins(catalog);
  auto session = Session::create(*opened, path, {});
  EXPECT_TRUE(session.ok());
  if (!session.ok()) return {};
  return (*session)->run({{catalog.find(id), options}}).at(0);
}

const std::string& recordedDir(std::string* why) {
  static std::string reason;
  static const std::string dir = [] {
    if (!warden::testing::haveTool("tcpdump") || !warden::testing::haveTool("tshark")) {
      reason = "tcpdump/tshark not installed";
      return std::string();
    }
    std::string d = warden::testing::makeTempDir("warden-experts-recorded");
    Status recorded = warden::testing::recordLoopback(d, {"http", "frag", "dns", "lossy"});
    if (!recorded.ok()) {
      reason = recorded.toString();
      std::filesystem::remove_all(d);
      return std::string();
    }
    // Removed when the test binary exits.
    static struct Cleanup {
      std::string path;
      ~Cleanup() { std::filesystem::remove_all(path); }
    } cleanup{d};
    return d;
  }();
  if (why != nullptr) *why = reason;
  return dir;
}

const ColumnValue& column(const Event& event, const std::string& name) {
  for (const Column& c : event.columns) {
    if (c.name == name) return c.value;
  }
  ADD_FAILURE() << "event " << event.name << " has no column " << name;
  static const ColumnValue none{};
  return none;
}

std::vector<std::vector<std::string>> tsharkRows(const std::string& path,
                                                 const std::string& arguments) {
  auto r =
      warden::testing::run("tshark -n -r " + warden::testing::shellQuote(path) + " " + arguments);
  EXPECT_TRUE(r.ok()) << "tshark " << arguments;  // a damaged capture exits 2 after what it read
  std::vector<std::vector<std::string>> rows;
  if (!r.ok()) return rows;
  std::stringstream lines(r->out);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> row;
    std::stringstream cells(line);
    for (std::string cell; std::getline(cells, cell, '\t');) row.push_back(cell);
    if (!line.empty() && line.back() == '\t') row.emplace_back();
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace warden::experts::builtin_testing
