// The endpoint mapper: towers byte for byte (the layout impacket's EPMTower reads), ept_map and
// ept_lookup through Warden's own generated client, and impacket's hept_map and hept_lookup
// finding a dynamic port.
#include "rpc/endpoint_map.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "epm.h"
#include "rpc/client.h"
#include "testsupport/oracle.h"

namespace warden::rpc {
namespace {

std::string hex(const std::vector<std::uint8_t>& bytes) {
  std::string out;
  for (std::uint8_t b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

// e1af8308-5d1f-11c9-91a4-08002b14a0fa v3.0
constexpr stub::SyntaxId kEpm = {{0xe1, 0xaf, 0x83, 0x08, 0x5d, 0x1f, 0x11, 0xc9, 0x91, 0xa4, 0x08,
                                  0x00, 0x2b, 0x14, 0xa0, 0xfa},
                                 3,
                                 0};

TEST(EndpointMap, TcpTowerBytes) {
  TcpTower t;
  t.interfaceId = kEpm;
  t.port = 135;
  t.ipv4 = {127, 0, 0, 1};
  const auto bytes = encodeTower(t);
  EXPECT_EQ(hex(bytes),
            "0500"  // 5 floors
            "1300"
            "0d"
            "0883afe11f5dc91191a408002b14a0fa"
            "0300"
            "0200"
            "0000"  // interface
            "1300"
            "0d"
            "045d888aeb1cc9119fe808002b104860"
            "0200"
            "0200"
            "0000"  // NDR 2.0
            "0100"
            "0b"
            "0200"
            "0000"  // RPC connection-oriented
            "0100"
            "07"
            "0200"
            "0087"  // TCP port 135, big-endian
            "0100"
            "09"
            "0400"
            "7f000001");  // IPv4 127.0.0.1
  auto back = decodeTower(bytes);
  ASSERT_TRUE(back.ok()) << back.status().toString();
  EXPECT_TRUE(stub::sameInterface(back.value().interfaceId, kEpm));
  EXPECT_EQ(back.value().port, 135);
  // Cut short: the floor and field are named.
  auto cut = decodeTower(std::span(bytes).first(30));
  EXPECT_FALSE(cut.ok());
  EXPECT_NE(cut.status().toString().find("tower floor 2"), std::string::npos)
      << cut.status().toString();
}

class EpmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hostEndpointMapper(server_);
    auto port = server_.listenTcp();
    ASSERT_TRUE(port.ok());
    port_ = port.value();
  }
  Server server_;
  std::uint16_t port_ = 0;
};

TEST_F(EpmTest, OurClientMapsAnInterfaceToItsPort) {
  auto binding = ClientBinding::open(fmt::format("ncacn_ip_tcp:127.0.0.1[{}]", port_));
  ASSERT_TRUE(binding.ok());
  TcpTower asked;
  asked.interfaceId = kEpm;
  const auto bytes = encodeTower(asked);
  std::vector<std::uint8_t> memory(sizeof(EPM_TOWER) + bytes.size());
  auto* tower = reinterpret_cast<EPM_TOWER*>(memory.data());
  tower->tower_length = static_cast<uint32_t>(bytes.size());
  std::memcpy(tower->tower_octet_string, bytes.data(), bytes.size());
  EPM_HANDLE handle = nullptr;
  uint32_t count = 0;
  EPM_TOWER_P towers[4] = {};
  error_status_t status = 1;
  ept_map(binding.value()->handle(), nullptr, tower, &handle, 4, &count, towers, &status);
  EXPECT_EQ(status, 0u);
  ASSERT_EQ(count, 1u);
  auto found = decodeTower(
      std::span<const std::uint8_t>(towers[0]->tower_octet_string, towers[0]->tower_length));
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found.value().port, port_);
  EXPECT_EQ(handle, nullptr);  // everything in one answer: no continuation
  midl_user_free(towers[0]);
  // An interface nobody registered.
  asked.interfaceId.uuid[0] ^= 0xff;
  const auto other = encodeTower(asked);
  std::memcpy(tower->tower_octet_string, other.data(), other.size());
  ept_map(binding.value()->handle(), nullptr, tower, &handle, 4, &count, towers, &status);
  EXPECT_EQ(status, kEptNotRegistered);
  EXPECT_EQ(count, 0u);
}

// A string binding without an endpoint: the first call asks the endpoint mapper for the port.
TEST_F(EpmTest, ABindingWithoutAnEndpointAsksTheMapper) {
  ClientOptions options;
  options.endpointMapperPort = port_;
  auto binding = ClientBinding::open("ncacn_ip_tcp:127.0.0.1", options);
  ASSERT_TRUE(binding.ok()) << binding.status().toString();
  EPM_UUID object;
  error_status_t status = 1;
  ept_inq_object(binding.value()->handle(), &object, &status);  // the mapper maps itself
  EXPECT_EQ(status, 0u);
  EXPECT_EQ(binding.value()->target().endpoint, std::to_string(port_));
  // An interface nobody registered: EPT_S_NOT_REGISTERED, as a communication failure.
  auto other = ClientBinding::open("ncacn_ip_tcp:127.0.0.1", options);
  stub::InterfaceSpec unknown{};
  unknown.id = kEpm;
  unknown.id.uuid[15] ^= 1;
  unknown.name = "unknown";
  std::vector<std::uint8_t> reply;
  try {
    other.value()->call(unknown, 0, {}, reply);
    FAIL() << "resolved an interface nobody registered";
  } catch (const ndr::Fault& f) {
    EXPECT_EQ(f.status(), kEptNotRegistered);
    EXPECT_EQ(f.origin(), ndr::Fault::Origin::kCommunication);
  }
}

TEST_F(EpmTest, ImpacketFindsTheDynamicPort) {
  auto result =
      warden::testing::run(fmt::format("/usr/bin/python3 {}/rpc/impacket_epm.py {} "
                                       "e1af8308-5d1f-11c9-91a4-08002b14a0fa 3.0",
                                       warden::testing::shellQuote(WARDEN_SOURCE_DIR), port_),
                           warden::testing::Stderr::kMerge);
  ASSERT_TRUE(result.ok());
  if (result->out.find("No module named 'impacket'") != std::string::npos) {
    GTEST_SKIP() << "python3-impacket is not installed";
  }
  EXPECT_EQ(result->exitCode, 0) << result->out;
  EXPECT_EQ(result->out,
            fmt::format("ncacn_ip_tcp:127.0.0.1[{}] {}\n", port_, endpointMap().size()))
      << result->out;
}

}  // namespace
}  // namespace warden::rpc
