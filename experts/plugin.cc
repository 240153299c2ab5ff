// Plugin loading: dlopen with RTLD_NOW | RTLD_LOCAL (unresolved symbols fail here, not mid-run,
// and plug-ins cannot see each other's symbols), then the version symbol, then the entry points.
#include "experts/plugin.h"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <exception>
#include <filesystem>

namespace warden::experts {

namespace {

std::string idFromPath(const std::string& path) {
  std::string stem = std::filesystem::path(path).filename().string();
  if (stem.size() > 3 && stem.ends_with(".so")) stem.resize(stem.size() - 3);
  if (stem.size() > 3 && stem.starts_with("lib")) stem.erase(0, 3);
  return stem;
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

Result<std::unique_ptr<Plugin>> Plugin::load(const std::string& path) {
  std::unique_ptr<Plugin> plugin(new Plugin());
  plugin->id_ = idFromPath(path);
  plugin->path_ = path;
  plugin->library_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (plugin->library_ == nullptr) {
    const char* why = dlerror();
    return UnsupportedError("cannot load: {}", why ? why : "dlopen failed");
  }
  auto* abi =
      static_cast<const std::uint32_t*>(dlsym(plugin->library_, "warden_expert_abi_version"));
  if (abi == nullptr) {
    return UnsupportedError(
        "not a Warden expert: no warden_expert_abi_version symbol (WARDEN_EXPERT_PLUGIN() "
        "missing)");
  }
  if (*abi != WARDEN_EXPERT_ABI_VERSION) {
    return UnsupportedError("built against expert ABI {}, this host speaks ABI {}; rebuild it",
                            *abi, WARDEN_EXPERT_ABI_VERSION);
  }
  auto registerProc = reinterpret_cast<WardenRegisterProc>(dlsym(plugin->library_, "Register"));
  plugin->configure_ = reinterpret_cast<WardenConfigureProc>(dlsym(plugin->library_, "Configure"));
  plugin->run_ = reinterpret_cast<WardenRunProc>(dlsym(plugin->library_, "Run"));
  if (registerProc == nullptr) return UnsupportedError("missing entry point Register");
  if (plugin->run_ == nullptr) return UnsupportedError("missing entry point Run");
  WARDEN_TRY(plugin->registerSelf(registerProc));
  return plugin;
}

Result<std::unique_ptr<Plugin>> Plugin::linkedIn(std::string id, WardenRegisterProc registerProc,
                                                 WardenConfigureProc configureProc,
                                                 WardenRunProc runProc) {
  std::unique_ptr<Plugin> plugin(new Plugin());
  plugin->id_ = std::move(id);
  plugin->path_ = "(built in)";
  plugin->configure_ = configureProc;
  plugin->run_ = runProc;
  WARDEN_TRY(plugin->registerSelf(registerProc));
  return plugin;
}

Status Plugin::registerSelf(WardenRegisterProc registerProc) {
  int ok = 0;
  try {
    ok = registerProc(&info_);
  } catch (const std::exception& e) {
    return InternalError("Register threw: {}", e.what());
  } catch (...) {
    return InternalError("Register threw a non-standard exception");
  }
  if (!ok) return InternalError("Register returned failure");
  // The expert wrote these; never trust them to be terminated.
  info_.name[sizeof info_.name - 1] = '\0';
  info_.vendor[sizeof info_.vendor - 1] = '\0';
  info_.description[sizeof info_.description - 1] = '\0';
  if (info_.name[0] == '\0') return MalformedError("Register left the name empty");
  if (configurable() && configure_ == nullptr) {
    return UnsupportedError("flags say configurable but there is no Configure entry point");
  }
  return Status();
}

Plugin::~Plugin() {
  if (library_ != nullptr) dlclose(library_);
}

void Catalog::addDirectory(const std::string& directory) {
  std::error_code error;
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
    if (entry.path().extension() == ".so" && !entry.is_directory()) {
      files.push_back(entry.path().string());
    }
  }
  if (error) {
    errors_.push_back({directory, NotFoundError("expert directory: {}", error.message())});
    return;
  }
  std::sort(files.begin(), files.end());
  for (const std::string& file : files) addFile(file);
}

void Catalog::addFile(const std::string& path) {
  auto plugin = Plugin::load(path);
  if (!plugin.ok()) {
    errors_.push_back({path, plugin.status()});
    return;
  }
  add(std::move(*plugin));
}

void Catalog::add(std::unique_ptr<Plugin> plugin) {
  for (const auto& existing : plugins_) {
    if (existing->id() == plugin->id() || equalsIgnoringCase(existing->name(), plugin->name())) {
      errors_.push_back(
          {plugin->path(), InvalidArgumentError("expert '{}' ({}) is already loaded from {}",
                                                plugin->name(), plugin->id(), existing->path())});
      return;
    }
  }
  plugins_.push_back(std::move(plugin));
}

const Plugin* Catalog::find(std::string_view idOrName) const {
  for (const auto& plugin : plugins_) {
    if (plugin->id() == idOrName || equalsIgnoringCase(plugin->name(), idOrName)) {
      return plugin.get();
    }
  }
  return nullptr;
}

std::vector<std::string> expertSearchPath(const std::vector<std::string>& fromCommandLine) {
  std::vector<std::string> path = fromCommandLine;
  // Plug-ins installed beside the binary: <prefix>/bin/warden -> <prefix>/lib/warden/experts.
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    std::filesystem::path installed = self.parent_path().parent_path() / "lib/warden/experts";
    if (std::filesystem::is_directory(installed, error)) path.push_back(installed.string());
  }
  if (const char* env = std::getenv("WARDEN_EXPERT_PATH")) {
    std::string_view rest = env;
    while (!rest.empty()) {
      std::size_t colon = rest.find(':');
      std::string_view item = rest.substr(0, colon);
      if (!item.empty()) path.emplace_back(item);
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  return path;
}

}  // namespace warden::experts
