// Ledger: registration, early close, and the reverse-order sweep that survives failing closers.
#include "custody/ledger.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

namespace warden::custody {

void reportToStderr(std::string_view owner, const CloserFailure& failure) {
  std::string line = fmt::format("warden: {}: closer '{}' failed: {}\n", owner, failure.name,
                                 failure.status.toString());
  std::fputs(line.c_str(), stderr);
}

Ledger::~Ledger() {
  SweepReport report = sweep();
  for (const CloserFailure& failure : report.failures) reportToStderr(owner_, failure);
}

Ledger::Entry Ledger::add(std::string name, Closer closer) {
  Entry entry = nextEntry_++;
  entries_.push_back(Record{entry, std::move(name), std::move(closer)});
  return entry;
}

Ledger::Entry Ledger::addFd(std::string name, int fd) {
  return add(std::move(name), [fd]() -> Status {
    if (::close(fd) == 0 || errno == EINTR) return Status();
    return IoError("close({}) failed: {}", fd, std::strerror(errno));
  });
}

Ledger::Entry Ledger::addTempFile(std::string name, std::string path) {
  return add(std::move(name), [path = std::move(path)]() -> Status {
    if (::unlink(path.c_str()) == 0 || errno == ENOENT) return Status();
    return IoError("unlink('{}') failed: {}", path, std::strerror(errno));
  });
}

std::vector<Ledger::Record>::iterator Ledger::findEntry(Entry entry) {
  // Newest entries are the likeliest to be closed early: search from the back.
  for (auto it = entries_.end(); it != entries_.begin();) {
    --it;
    if (it->entry == entry) return it;
  }
  return entries_.end();
}

Status Ledger::close(Entry entry) {
  auto it = findEntry(entry);
  if (it == entries_.end()) {
    return NotFoundError("ledger '{}' has no entry {} (closed or dismissed already?)", owner_,
                         entry);
  }
  Record record = std::move(*it);
  entries_.erase(it);
  return runCloser(record).addContext(fmt::format("closing '{}'", record.name));
}

Status Ledger::dismiss(Entry entry) {
  auto it = findEntry(entry);
  if (it == entries_.end()) {
    return NotFoundError("ledger '{}' has no entry {} (closed or dismissed already?)", owner_,
                         entry);
  }
  entries_.erase(it);
  return Status();
}

Status Ledger::runCloser(Record& record) noexcept {
  try {
    return record.closer ? record.closer() : Status();
  } catch (const std::exception& e) {
    return InternalError("closer threw: {}", e.what());
  } catch (...) {
    return InternalError("closer threw a non-standard exception");
  }
}

SweepReport Ledger::sweep() noexcept {
  SweepReport report;
  // A closer may add or close entries of this ledger; take one entry at a time from the back.
  while (!entries_.empty()) {
    Record record = std::move(entries_.back());
    entries_.pop_back();
    Status status = runCloser(record);
    ++report.ran;
    if (!status.ok()) report.failures.push_back({std::move(record.name), std::move(status)});
  }
  return report;
}

}  // namespace warden::custody
