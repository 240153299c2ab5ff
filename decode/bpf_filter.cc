// BpfFilter over libpcap: a dead pcap handle for the link type, pcap_compile, bpf_filter.
#include "decode/bpf_filter.h"

#include <pcap/pcap.h>

#include <mutex>

namespace warden::decode {

struct BpfFilter::Program {
  bpf_program code{};
  ~Program() { pcap_freecode(&code); }
};

Result<BpfFilter> BpfFilter::compile(const std::string& expression, std::uint16_t linkType,
                                     std::uint32_t snaplen) {
  // pcap_compile is not thread-safe in older libpcaps; compile one at a time.
  static std::mutex compileMutex;
  std::lock_guard lock(compileMutex);
  pcap_t* dead = pcap_open_dead(linkType, static_cast<int>(snaplen));
  if (dead == nullptr) return InternalError("pcap_open_dead failed for link type {}", linkType);
  auto program = std::make_unique<Program>();
  int rc = pcap_compile(dead, &program->code, expression.c_str(), 1, PCAP_NETMASK_UNKNOWN);
  std::string error = rc == 0 ? "" : pcap_geterr(dead);
  pcap_close(dead);
  if (rc != 0) {
    program->code = bpf_program{};
    return InvalidArgumentError("capture filter '{}': {}", expression, error);
  }
  return BpfFilter(expression, std::move(program));
}

BpfFilter::BpfFilter(std::string expression, std::unique_ptr<Program> program)
    : expression_(std::move(expression)), program_(std::move(program)) {}
BpfFilter::BpfFilter(BpfFilter&&) noexcept = default;
BpfFilter& BpfFilter::operator=(BpfFilter&&) noexcept = default;
BpfFilter::~BpfFilter() = default;

bool BpfFilter::matches(std::span<const std::byte> bytes, std::uint32_t wireLength) const {
  return bpf_filter(program_->code.bf_insns, reinterpret_cast<const u_char*>(bytes.data()),
                    wireLength, static_cast<u_int>(bytes.size())) != 0;
}

}  // namespace warden::decode
