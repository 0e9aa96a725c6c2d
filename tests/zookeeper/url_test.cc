// --zk / --master URL parsing: zk:// and file://, good and bad values.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "zookeeper/zookeeper.h"

namespace agora {
namespace zk {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(UrlTest, ParsesServersPathAndCredentials) {
  absl::StatusOr<Url> url =
      ParseUrl("  zk://jane:s3cret@10.0.0.1:2181,zk2.example:2182//mesos/x/ ");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_THAT(url->servers, ElementsAre("10.0.0.1:2181", "zk2.example:2182"));
  EXPECT_EQ(url->path, "/mesos/x");
  EXPECT_EQ(url->credentials, "jane:s3cret");
  EXPECT_EQ(url->ConnectString(), "10.0.0.1:2181,zk2.example:2182");
  EXPECT_EQ(url->ToString(), "zk://10.0.0.1:2181,zk2.example:2182/mesos/x");
}

TEST(UrlTest, WithoutCredentials) {
  absl::StatusOr<Url> url = ParseUrl("zk://127.0.0.1:2181/agora");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_THAT(url->servers, ElementsAre("127.0.0.1:2181"));
  EXPECT_EQ(url->path, "/agora");
  EXPECT_EQ(url->credentials, "");
}

TEST(UrlTest, RefusesMalformedValuesNamingThem) {
  struct Case {
    const char* value;
    const char* why;
  };
  for (const Case& c : {
           Case{"", "expected zk://"},
           Case{"127.0.0.1:2181/agora", "expected zk://"},
           Case{"http://h:1/agora", "expected zk://"},
           Case{"zk://h:2181", "no znode path"},
           Case{"zk://h:2181/", "below the root"},
           Case{"zk://h:2181///", "below the root"},
           Case{"zk:///agora", "no host:port"},
           Case{"zk://h/agora", "is not host:port"},
           Case{"zk://h:0/agora", "no valid port"},
           Case{"zk://h:65536/agora", "no valid port"},
           Case{"zk://h:2181,/agora", "is not host:port"},
           Case{"zk://h:21x/agora", "no valid port"},
           Case{"zk://nopass@h:2181/agora", "user:password"},
           Case{"zk://h:2181/a/../b", "'..'"},
       }) {
    absl::StatusOr<Url> url = ParseUrl(c.value);
    ASSERT_FALSE(url.ok()) << c.value;
    EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument)
        << c.value;
    EXPECT_THAT(url.status().message(), HasSubstr(c.why)) << c.value;
    EXPECT_THAT(url.status().message(), HasSubstr(std::string("'") + c.value))
        << c.value;
  }
}

TEST(UrlTest, MessagesHideThePassword) {
  absl::StatusOr<Url> url = ParseUrl("zk://jane:s3cret@h:0/agora");
  ASSERT_FALSE(url.ok());
  EXPECT_THAT(url.status().message(), Not(HasSubstr("s3cret")));
  EXPECT_THAT(url.status().message(), HasSubstr("zk://jane:***@h:0/agora"));
}

class UrlFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = ::testing::TempDir() + "/agora-url-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    return path;
  }
  std::string dir_;
};

TEST_F(UrlFileTest, ReadsTheUrlFromAFile) {
  std::string file = Write("zk", "\n  zk://u:p@h1:2181,h2:2181/agora  \n");
  absl::StatusOr<Url> url = ParseUrl("file://" + file);
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_THAT(url->servers, ElementsAre("h1:2181", "h2:2181"));
  EXPECT_EQ(url->path, "/agora");
  EXPECT_EQ(url->credentials, "u:p");
}

TEST_F(UrlFileTest, FileErrorsAreClear) {
  absl::StatusOr<Url> missing = ParseUrl("file://" + dir_ + "/none");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(dir_ + "/none"));

  absl::StatusOr<Url> relative = ParseUrl("file://relative/zk");
  EXPECT_EQ(relative.status().code(), absl::StatusCode::kInvalidArgument);

  std::string bad = Write("bad", "zk://h:2181");
  absl::StatusOr<Url> bad_url = ParseUrl("file://" + bad);
  EXPECT_EQ(bad_url.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_url.status().message(), HasSubstr(bad));
  EXPECT_THAT(bad_url.status().message(), HasSubstr("no znode path"));

  std::string loop = Write("loop", "file://" + bad);
  EXPECT_THAT(ParseUrl("file://" + loop).status().message(),
              HasSubstr("another file://"));

  if (geteuid() != 0) {  // root reads anything.
    std::string secret = Write("secret", "zk://h:2181/a");
    ASSERT_EQ(chmod(secret.c_str(), 0), 0);
    EXPECT_EQ(ParseUrl("file://" + secret).status().code(),
              absl::StatusCode::kPermissionDenied);
  }
}

TEST(SessionStateTest, Names) {
  EXPECT_STREQ(SessionStateName(SessionState::kConnecting), "connecting");
  EXPECT_STREQ(SessionStateName(SessionState::kConnected), "connected");
  EXPECT_STREQ(SessionStateName(SessionState::kExpired), "expired");
}

TEST(RequestBytesTest, CountsPathDataAndOverheadPerOp) {
  EXPECT_EQ(RequestBytes(Op::Create("/a", "xyz")), 2 + 3 + kOpOverheadBytes);
  EXPECT_EQ(RequestBytes({Op::Check("/a"), Op::SetData("/bb", "1")}),
            2 + 3 + 1 + 2 * kOpOverheadBytes);
}

}  // namespace
}  // namespace zk
}  // namespace agora
