// Samba's own client library as a strict second client: the rpcecho interface implemented on
// Warden's server, called from samba.dcerpc.echo in another process. Samba answers its
// bind-time feature negotiation context, checks every reply field and warns about stub bytes it
// did not read; any such warning fails the test.
#include "echo.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <iostream>

#include "rpc/server.h"
#include "testsupport/oracle.h"

extern "C" {

void m_AddOne(handle_t, uint32_t in, uint32_t* out) { *out = in + 1; }

void m_EchoData(handle_t, uint32_t len, unsigned char* in, unsigned char* out) {
  std::memcpy(out, in, len);
}

void m_SinkData(handle_t, uint32_t, unsigned char*) {}

void m_SourceData(handle_t, uint32_t len, unsigned char* data) {
  for (uint32_t i = 0; i < len; ++i) data[i] = static_cast<unsigned char>(i);
}

void m_TestCall(handle_t, char16_t* s1, char16_t** s2) {
  std::size_t n = 0;
  while (s1[n] != 0) ++n;
  *s2 = static_cast<char16_t*>(midl_user_allocate((n + 1) * sizeof(char16_t)));
  std::memcpy(*s2, s1, (n + 1) * sizeof(char16_t));
}

}  // extern "C"

namespace {

TEST(Echo, SambasClientCallsOurServer) {
  warden::rpc::Server server;
  server.registerInterface(rpcecho_v1_0_s_ifspec);
  auto port = server.listenTcp();
  ASSERT_TRUE(port.ok());
  auto result =
      warden::testing::run(fmt::format("/usr/bin/python3 {}/samba_echo.py {}",
                                       warden::testing::shellQuote(ECHO_EXAMPLE_DIR), port.value()),
                           warden::testing::Stderr::kMerge);
  ASSERT_TRUE(result.ok());
  if (result->out.find("No module named 'samba'") != std::string::npos) {
    GTEST_SKIP() << "python3-samba is not installed";
  }
  EXPECT_EQ(result->exitCode, 0) << result->out;
  EXPECT_EQ(result->out, "ok AddOne EchoData SinkData SourceData TestCall\n") << result->out;
  EXPECT_EQ(server.stats().faults, 0u);
  EXPECT_EQ(server.stats().protocolErrors, 0u);
  std::cout << "samba: " << result->out;
}

}  // namespace
