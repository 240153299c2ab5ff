// Expert plug-ins: shared libraries loaded with dlopen (or experts linked into the host, which go
// through the same entry points), and the catalog of those a host found. A library that is not a
// Warden plug-in, was built against another ABI or lacks an entry point is reported by path;
// the others still load.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "warden/expert.h"

namespace warden::experts {

class Plugin {
 public:
  // dlopen, ABI version check, entry points, Register. The id is the file name without "lib" and
  // ".so" (libhello.so -> hello).
  static Result<std::unique_ptr<Plugin>> load(const std::string& path);
  // An expert linked into the host.
  static Result<std::unique_ptr<Plugin>> linkedIn(std::string id, WardenRegisterProc registerProc,
                                                  WardenConfigureProc configureProc,
                                                  WardenRunProc runProc);
  ~Plugin();
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  const std::string& id() const { return id_; }
  const std::string& path() const { return path_; }  // "(built in)" for linked-in experts
  std::string_view name() const { return info_.name; }
  std::string_view vendor() const { return info_.vendor; }
  std::string_view description() const { return info_.description; }
  std::uint32_t version() const { return info_.version; }
  std::uint32_t flags() const { return info_.flags; }
  bool configurable() const { return (info_.flags & WARDEN_EXPERT_CONFIGURABLE) != 0; }
  WardenConfigureProc configureProc() const { return configure_; }
  WardenRunProc runProc() const { return run_; }

 private:
  Plugin() = default;
  Status registerSelf(WardenRegisterProc registerProc);

  std::string id_;
  std::string path_;
  void* library_ = nullptr;
  WardenExpertInfo info_{};
  WardenConfigureProc configure_ = nullptr;
  WardenRunProc run_ = nullptr;
};

struct LoadError {
  std::string path;
  Status status;
};

class Catalog {
 public:
  // Loads every *.so directly in `directory`, in name order. A missing directory is an error.
  void addDirectory(const std::string& directory);
  void addFile(const std::string& path);
  // Takes a loaded plug-in; one whose id or name is already taken is refused as a load error.
  void add(std::unique_ptr<Plugin> plugin);
  // By id, or by display name ignoring case ("Protocol Distribution").
  const Plugin* find(std::string_view idOrName) const;
  const std::vector<std::unique_ptr<Plugin>>& plugins() const { return plugins_; }
  const std::vector<LoadError>& errors() const { return errors_; }

 private:
  std::vector<std::unique_ptr<Plugin>> plugins_;
  std::vector<LoadError> errors_;
};

// The directories a host searches, in order: those given on the command line, the installed
// <prefix>/lib/warden/experts beside <prefix>/bin/warden when it exists, then the ':'-separated
// WARDEN_EXPERT_PATH.
std::vector<std::string> expertSearchPath(const std::vector<std::string>& fromCommandLine);

}  // namespace warden::experts
