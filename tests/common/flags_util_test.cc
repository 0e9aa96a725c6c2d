#include "common/flags_util.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "gflags/gflags.h"
#include "gtest/gtest.h"

DEFINE_string(agora_test_flag, "default", "a flag for the environment test");

namespace agora {
namespace {

TEST(ParseDurationTest, AcceptsMesosAndAbseilSpellings) {
  EXPECT_EQ(*ParseDuration("100ms"), absl::Milliseconds(100));
  EXPECT_EQ(*ParseDuration("15secs"), absl::Seconds(15));
  EXPECT_EQ(*ParseDuration("10mins"), absl::Minutes(10));
  EXPECT_EQ(*ParseDuration("2hrs"), absl::Hours(2));
  EXPECT_EQ(*ParseDuration("1days"), absl::Hours(24));
  EXPECT_EQ(*ParseDuration("1weeks"), absl::Hours(24 * 7));
  EXPECT_EQ(*ParseDuration("15s"), absl::Seconds(15));
  EXPECT_EQ(*ParseDuration("1m30s"), absl::Seconds(90));
  EXPECT_EQ(*ParseDuration("0.5secs"), absl::Milliseconds(500));
  EXPECT_EQ(*ParseDuration("5"), absl::Seconds(5));
}

TEST(ParseDurationTest, RejectsGarbage) {
  for (const char* bad : {"", "abc", "-1secs", "5 parsecs", "nan", "1.2.3s"}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
  }
}

TEST(FormatDurationTest, UsesMesosUnits) {
  EXPECT_EQ(FormatMesosDuration(absl::Seconds(15)), "15secs");
  EXPECT_EQ(FormatMesosDuration(absl::Milliseconds(500)), "500ms");
  EXPECT_EQ(FormatMesosDuration(absl::Minutes(10)), "10mins");
}

TEST(LoadFlagsFromEnvironmentTest, EnvironmentFillsUnsetFlagsOnly) {
  setenv("AGORA_AGORA_TEST_FLAG", "from-env", 1);
  char arg0[] = "prog";
  char* argv1[] = {arg0};
  ASSERT_TRUE(LoadFlagsFromEnvironment(1, argv1).ok());
  EXPECT_EQ(FLAGS_agora_test_flag, "from-env");

  FLAGS_agora_test_flag = "default";
  char arg1[] = "--agora_test_flag=cli";
  char* argv2[] = {arg0, arg1};
  ASSERT_TRUE(LoadFlagsFromEnvironment(2, argv2).ok());
  EXPECT_EQ(FLAGS_agora_test_flag, "default");
  unsetenv("AGORA_AGORA_TEST_FLAG");
}

TEST(WritePortFileTest, WritesBothPorts) {
  std::string path = ::testing::TempDir() + "/ports";
  ASSERT_TRUE(WritePortFile(path, 1234, 5678).ok());
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "grpc=1234\nhttp=5678\n");
  EXPECT_FALSE(WritePortFile("/nonexistent-dir/ports", 1, 2).ok());
}

}  // namespace
}  // namespace agora
