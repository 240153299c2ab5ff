// Binding without a handle_t parameter, through stubs `warden idl` generated from binding.idl:
// a generic [handle] (the application's bind/unbind pair around each call, the value sent as
// data) and MIDL's auto_handle.
#include "binding.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "warden/stub.h"

namespace {

// The application's side of the generic handle: names it knows map to bindings; every bind and
// unbind is recorded.
std::map<std::u16string, handle_t> known;
handle_t localBinding = nullptr;  // a null name: this machine
std::vector<const char16_t*> bound;
std::vector<std::pair<const char16_t*, handle_t>> unbound;

}  // namespace

extern "C" handle_t SERVER_NAME_bind(SERVER_NAME name) {
  bound.push_back(name);
  if (name == nullptr) return localBinding;
  auto it = known.find(name);
  return it == known.end() ? nullptr : it->second;
}

extern "C" void SERVER_NAME_unbind(SERVER_NAME name, handle_t binding) {
  unbound.emplace_back(name, binding);
}

extern "C" int32_t m_NameLength(SERVER_NAME server, int32_t add) {
  return add + (server == nullptr ? 0 : static_cast<int32_t>(std::u16string(server).size()));
}

extern "C" void m_Refuse(SERVER_NAME, uint32_t code) { throw warden::ndr::Fault(code, "refused"); }

extern "C" int32_t m_Ping(int32_t x) { return x + 1; }

namespace {

class BindingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.registerInterface(binding_v1_0_s_ifspec);
    other_.registerInterface(binding_v1_0_s_ifspec);
    known = {{u"alpha", server_.bind()}};
    localBinding = other_.bind();
    bound.clear();
    unbound.clear();
  }
  void TearDown() override {
    warden::stub::setAutoBinding(nullptr, nullptr);
    warden::stub::setAutoBinding(binding_v1_0_c_ifspec, nullptr);
  }

  warden::stub::InProcessServer server_, other_;
};

std::uint32_t faultOf(const std::function<void()>& call) {
  try {
    call();
  } catch (const warden::ndr::Fault& f) {
    return f.status();
  }
  return 0;
}

TEST_F(BindingTest, GenericHandleBindsEachCallAndTravelsAsData) {
  const char16_t* name = u"alpha";
  EXPECT_EQ(NameLength(const_cast<SERVER_NAME>(name), 10), 15);
  // The value went to the server the bind routine named, as a [unique, string] pointer:
  // referent ID, max_count 6, offset 0, actual_count 6, "alpha\0" in UTF-16, then add.
  const std::vector<std::uint8_t> expected = {0x00, 0x00, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00,
                                              0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00,
                                              'a',  0x00, 'l',  0x00, 'p',  0x00, 'h',  0x00,
                                              'a',  0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00};
  EXPECT_EQ(server_.lastRequest(), expected);
  EXPECT_TRUE(other_.lastRequest().empty());
  ASSERT_EQ(bound.size(), 1u);
  EXPECT_EQ(bound[0], name);
  ASSERT_EQ(unbound.size(), 1u);
  EXPECT_EQ(unbound[0].first, name);
  EXPECT_EQ(unbound[0].second, known[u"alpha"]);
  // A null generic handle is passed to the bind routine too, and travels as a null pointer.
  EXPECT_EQ(NameLength(nullptr, 3), 3);
  EXPECT_EQ(bound.size(), 2u);
  EXPECT_EQ(bound[1], nullptr);
  EXPECT_EQ(unbound.size(), 2u);
  EXPECT_EQ(unbound[1].second, localBinding);
}

TEST_F(BindingTest, UnbindRunsWhenTheCallFailsAndNotWhenBindFailed) {
  const char16_t* name = u"alpha";
  EXPECT_EQ(faultOf([&] { Refuse(const_cast<SERVER_NAME>(name), 0x1C010003); }), 0x1C010003u);
  ASSERT_EQ(unbound.size(), 1u);
  EXPECT_EQ(unbound[0].first, name);
  // A bind routine that finds no binding: RPC_S_INVALID_BINDING, and nothing to unbind.
  const char16_t* stranger = u"nowhere";
  EXPECT_EQ(faultOf([&] { NameLength(const_cast<SERVER_NAME>(stranger), 1); }), 0x6A6u);
  EXPECT_EQ(bound.size(), 2u);
  EXPECT_EQ(unbound.size(), 1u);
}

TEST_F(BindingTest, AutoHandleUsesTheBindingTheApplicationNamed) {
  // No name yet: RPC_S_NO_BINDINGS.
  EXPECT_EQ(faultOf([] { Ping(1); }), warden::stub::kNoBindings);
  // A process-wide default.
  warden::stub::setAutoBinding(nullptr, localBinding);
  EXPECT_EQ(Ping(1), 2);
  EXPECT_EQ(other_.lastRequest(), (std::vector<std::uint8_t>{1, 0, 0, 0}));
  // The interface's own binding wins over the default.
  warden::stub::setAutoBinding(binding_v1_0_c_ifspec, known[u"alpha"]);
  EXPECT_EQ(Ping(41), 42);
  EXPECT_EQ(server_.lastRequest(), (std::vector<std::uint8_t>{41, 0, 0, 0}));
  // Forgetting it falls back to the default.
  warden::stub::setAutoBinding(binding_v1_0_c_ifspec, nullptr);
  EXPECT_EQ(Ping(7), 8);
}

}  // namespace
