#include "common/ids.h"

#include <set>

#include "gtest/gtest.h"

namespace agora {
namespace {

TEST(IdsTest, UuidsAreVersion4AndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string u = RandomUuid();
    ASSERT_EQ(u.size(), 36u);
    EXPECT_EQ(u[14], '4');
    EXPECT_TRUE(u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b');
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(UuidBytesToString("short"), "");
}

TEST(IdsTest, MesosFormats) {
  EXPECT_EQ(FormatAgentId("m", 3), "m-S3");
  EXPECT_EQ(FormatOfferId("m", 12), "m-O12");
  EXPECT_EQ(FormatFrameworkId("m", 7), "m-0007");
  EXPECT_EQ(FormatFrameworkId("m", 12345), "m-12345");
}

}  // namespace
}  // namespace agora
