// Run results as people and programs read them: aligned text tables, one JSON document, JSON
// lines (one event per line, then one line per run) and CSV (one table per event shape).
#pragma once

#include <string>
#include <vector>

#include "experts/results.h"

namespace warden::experts {

struct ReportContext {
  std::string capturePath;
  std::size_t frames = 0;
  std::string filter;
};

std::string reportText(const ReportContext& context, const std::vector<RunResult>& runs);
std::string reportJson(const ReportContext& context, const std::vector<RunResult>& runs);
std::string reportJsonLines(const ReportContext& context, const std::vector<RunResult>& runs);
std::string reportCsv(const ReportContext& context, const std::vector<RunResult>& runs);

// "12.3 KiB"
std::string formatBytes(std::size_t bytes);

}  // namespace warden::experts
