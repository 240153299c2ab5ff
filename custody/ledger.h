// Ledger: the resources an owner holds that are not heap memory (file descriptors, temp files,
// anything with a close step), each with a name and a closer. When the owner fails or ends, the
// ledger is swept: closers run newest first, a failing or throwing closer is reported, and the
// rest still run. An owner that releases a resource itself closes or dismisses its entry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"

namespace warden::custody {

// A closer that failed during a sweep, by the name it was registered under.
struct CloserFailure {
  std::string name;
  Status status;
};

struct SweepReport {
  std::size_t ran = 0;  // closers run, failed ones included
  std::vector<CloserFailure> failures;
};

// Prints "warden: <owner>: closer '<name>' failed: <status>" on stderr: the fallback when nobody is
// left to receive a report (a sweep from a destructor).
void reportToStderr(std::string_view owner, const CloserFailure& failure);

// Not thread-safe: one owner uses it, and a host sweeps it only after the owner's thread is done.
class Ledger {
 public:
  using Closer = std::function<Status()>;
  using Entry = std::uint64_t;  // 0 is never an entry

  explicit Ledger(std::string owner = "ledger") : owner_(std::move(owner)) {}
  // Sweeps what remains; failures go to stderr (call sweep() first to receive them).
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  Entry add(std::string name, Closer closer);
  // close(2) on sweep. EINTR counts as closed (Linux releases the descriptor either way).
  Entry addFd(std::string name, int fd);
  // unlink(2) on sweep: a partial output file that must not survive a failed owner. A file that is
  // already gone counts as removed.
  Entry addTempFile(std::string name, std::string path);

  // Runs one closer now and forgets it (the owner is done with the resource early).
  Status close(Entry entry);
  // Forgets an entry without running it (the owner released the resource itself).
  Status dismiss(Entry entry);
  // Runs every closer, newest first, and empties the ledger.
  SweepReport sweep() noexcept;

  std::size_t pending() const { return entries_.size(); }
  const std::string& owner() const { return owner_; }

 private:
  struct Record {
    Entry entry;
    std::string name;
    Closer closer;
  };
  static Status runCloser(Record& record) noexcept;
  std::vector<Record>::iterator findEntry(Entry entry);

  std::string owner_;
  std::vector<Record> entries_;
  Entry nextEntry_ = 1;
};

}  // namespace warden::custody
