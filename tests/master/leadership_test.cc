// Leadership: what a master that does not lead answers on gRPC and HTTP.
#include "master/leadership.h"

#include "gtest/gtest.h"

namespace agora {
namespace {

zk::MasterRecord Leader() {
  zk::MasterRecord record;
  record.id = "m1";
  record.hostname = "leader.example";
  record.ip = "10.0.0.1";
  record.port = 5050;
  record.http_port = 5080;
  return record;
}

std::string Location(const HttpResponse& response) {
  for (const auto& [name, value] : response.headers) {
    if (name == "Location") return value;
  }
  return "";
}

TEST(LeadershipTest, StandbyRedirectsHttpToTheLeadersHttpPortKeepingTheQuery) {
  Leadership leadership;
  leadership.SetLeader(Leader());
  std::optional<HttpResponse> out = leadership.CheckHttp("/state", "jsonp=x");
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->status, 307);
  EXPECT_EQ(Location(*out), "//leader.example:5080/state?jsonp=x");
}

TEST(LeadershipTest, StandbyWithoutALeaderAnswers503) {
  Leadership leadership;
  std::optional<HttpResponse> out = leadership.CheckHttp("/master/state", "");
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->status, 503);
  EXPECT_EQ(leadership.Redirect().status, 503);
}

TEST(LeadershipTest, ProcessEndpointsStayLocalInEveryState) {
  Leadership leadership;
  leadership.SetLeader(Leader());
  for (const char* path : {"/health", "/master/health", "/metrics/snapshot",
                           "/version", "/flags", "/redirect"}) {
    EXPECT_FALSE(leadership.CheckHttp(path, "").has_value()) << path;
  }
}

TEST(LeadershipTest, RecoveringAnswers503AndLeadingServes) {
  Leadership leadership;
  leadership.SetLeader(Leader());
  leadership.SetState(Leadership::State::kRecovering);
  std::optional<HttpResponse> out = leadership.CheckHttp("/state", "");
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->status, 503);
  EXPECT_EQ(out->body, "master has not finished recovery");
  leadership.SetState(Leadership::State::kLeading);
  EXPECT_FALSE(leadership.CheckHttp("/state", "").has_value());
  EXPECT_TRUE(leadership.leading());
}

TEST(LeadershipTest, RedirectPointsAtTheLeaderEvenWhenLeading) {
  Leadership leadership(Leadership::State::kLeading);
  leadership.SetLeader(Leader());
  HttpResponse out = leadership.Redirect();
  EXPECT_EQ(out.status, 307);
  EXPECT_EQ(Location(out), "//leader.example:5080");
}

}  // namespace
}  // namespace agora
