// The built-in experts' table.
#include "experts/builtin/builtins.h"

namespace warden::experts {

void addBuiltins(Catalog& catalog) {
  struct Entry {
    const char* id;
    WardenRegisterProc registerProc;
    WardenConfigureProc configureProc;
    WardenRunProc runProc;
  };
  static constexpr Entry kBuiltins[] = {
      {"protdist", builtin::protdistRegister, nullptr, builtin::protdistRun},
      {"topusers", builtin::topusersRegister, builtin::topusersConfigure, builtin::topusersRun},
      {"propdist", builtin::propdistRegister, builtin::propdistConfigure, builtin::propdistRun},
      {"srt", builtin::srtRegister, builtin::srtConfigure, builtin::srtRun},
      {"coalesce", builtin::coalesceRegister, builtin::coalesceConfigure, builtin::coalesceRun},
      {"tcpretrans", builtin::tcpretransRegister, nullptr, builtin::tcpretransRun},
  };
  for (const Entry& e : kBuiltins) {
    auto plugin = Plugin::linkedIn(e.id, e.registerProc, e.configureProc, e.runProc);
    if (plugin.ok()) catalog.add(std::move(*plugin));
  }
}

}  // namespace warden::experts
