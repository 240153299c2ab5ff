// BpfFilter: tcpdump's capture-filter language, compiled by libpcap (pcap_compile) for one link
// type and run on raw frame bytes with bpf_filter: the field's standard, so `warden run --filter`
// selects exactly the frames tcpdump would.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/status.h"

namespace warden::decode {

class BpfFilter {
 public:
  // InvalidArgument with libpcap's message when the expression does not compile for the link type.
  static Result<BpfFilter> compile(const std::string& expression, std::uint16_t linkType,
                                   std::uint32_t snaplen = 262144);
  BpfFilter(BpfFilter&&) noexcept;
  BpfFilter& operator=(BpfFilter&&) noexcept;
  ~BpfFilter();

  bool matches(std::span<const std::byte> bytes, std::uint32_t wireLength) const;
  const std::string& expression() const { return expression_; }

 private:
  struct Program;
  BpfFilter(std::string expression, std::unique_ptr<Program> program);
  std::string expression_;
  std::unique_ptr<Program> program_;
};

}  // namespace warden::decode
