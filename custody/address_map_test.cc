// AddressMap against std::unordered_map under random inserts, overwrites and erases.
#include "custody/address_map.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

namespace warden::custody::detail {
namespace {

TEST(AddressMap, EmptyFindsNothing) {
  AddressMap map;
  EXPECT_EQ(map.find(0x10000), nullptr);
  EXPECT_FALSE(map.erase(0x10000));
  EXPECT_EQ(map.size(), 0u);
}

TEST(AddressMap, MatchesAModelUnderRandomOperations) {
  AddressMap map;
  std::unordered_map<std::uintptr_t, std::uint64_t> model;
  std::mt19937_64 rng(7);
  // Keys shaped like slab bases and like 16-byte aligned blocks, from a small range so that
  // erases hit and probe runs collide.
  auto key = [&] {
    std::uintptr_t k = (rng() % 4096 + 1);
    return rng() % 2 ? k << 16 : k << 4;
  };
  for (int i = 0; i < 200000; ++i) {
    std::uintptr_t k = key();
    switch (rng() % 3) {
      case 0: {
        std::uint64_t v = rng();
        ASSERT_TRUE(map.insert(k, v));
        model[k] = v;
        break;
      }
      case 1:
        ASSERT_EQ(map.erase(k), model.erase(k) == 1) << "key " << k;
        break;
      default: {
        const std::uint64_t* found = map.find(k);
        auto it = model.find(k);
        ASSERT_EQ(found != nullptr, it != model.end()) << "key " << k;
        if (found) {
          ASSERT_EQ(*found, it->second);
        }
      }
    }
    ASSERT_EQ(map.size(), model.size());
  }
  std::size_t visited = 0;
  map.forEach([&](std::uintptr_t k, std::uint64_t v) {
    ++visited;
    ASSERT_EQ(model.at(k), v);
  });
  EXPECT_EQ(visited, model.size());
  map.clear();
  EXPECT_EQ(map.size(), 0u);
  EXPECT_EQ(map.find(model.begin()->first), nullptr);
}

}  // namespace
}  // namespace warden::custody::detail
