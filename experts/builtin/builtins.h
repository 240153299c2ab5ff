// The experts linked into the host. They are written against the same C ABI as third-party
// plug-ins and reach the host only through the helpers of expert.h, so they prove the contract.
#pragma once

#include "experts/plugin.h"
#include "warden/expert.h"

namespace warden::experts {

// Adds every built-in expert to the catalog.
void addBuiltins(Catalog& catalog);

namespace builtin {
// Protocol Distribution (protdist).
int protdistRegister(WardenExpertInfo* info);
int protdistRun(WardenKey key, const WardenExpertConfig* config, const WardenStartupInfo* startup,
                std::uint32_t startupFlags);
// Top Users (topusers).
int topusersRegister(WardenExpertInfo* info);
int topusersConfigure(WardenKey key, WardenExpertConfig** config, const WardenStartupInfo* startup,
                      std::uint32_t startupFlags);
int topusersRun(WardenKey key, const WardenExpertConfig* config, const WardenStartupInfo* startup,
                std::uint32_t startupFlags);
// TCP Retransmit (tcpretrans).
int tcpretransRegister(WardenExpertInfo* info);
int tcpretransRun(WardenKey key, const WardenExpertConfig* config, const WardenStartupInfo* startup,
                  std::uint32_t startupFlags);
// Property Distribution (propdist).
int propdistRegister(WardenExpertInfo* info);
int propdistConfigure(WardenKey key, WardenExpertConfig** config, const WardenStartupInfo* startup,
                      std::uint32_t startupFlags);
int propdistRun(WardenKey key, const WardenExpertConfig* config, const WardenStartupInfo* startup,
                std::uint32_t startupFlags);
// Average Server Response Time (srt).
int srtRegister(WardenExpertInfo* info);
int srtConfigure(WardenKey key, WardenExpertConfig** config, const WardenStartupInfo* startup,
                 std::uint32_t startupFlags);
int srtRun(WardenKey key, const WardenExpertConfig* config, const WardenStartupInfo* startup,
           std::uint32_t startupFlags);
// Protocol Coalesce (coalesce).
int coalesceRegister(WardenExpertInfo* info);
int coalesceConfigure(WardenKey key, WardenExpertConfig** config, const WardenStartupInfo* startup,
                      std::uint32_t startupFlags);
int coalesceRun(WardenKey key, const WardenExpertConfig* config, const WardenStartupInfo* startup,
                std::uint32_t startupFlags);
}  // namespace builtin

}  // namespace warden::experts
