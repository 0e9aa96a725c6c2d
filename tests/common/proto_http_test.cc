// POST /api/v1's media types, parsing and status codes, with the agent's
// Call and Response and a fake dispatch in place of the daemon's loop.
#include "common/proto_http.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mesos/v1/agent/agent.pb.h"
#include "nlohmann/json.hpp"

namespace agora {
namespace {

using mesos::v1::agent::Call;
using mesos::v1::agent::Response;
using ::testing::HasSubstr;

constexpr char kJson[] = "application/json";
constexpr char kProtobuf[] = "application/x-protobuf";

class ProtoHttpTest : public ::testing::Test {
 protected:
  HttpResponse Serve(ProtoHttpRequest request) {
    return ServeProtoApi<Call, Response>(
        request,
        [this](const Call& call) -> std::optional<absl::StatusOr<Response>> {
          ++dispatched_;
          last_ = call;
          if (!answer_) return std::nullopt;
          return *answer_;
        });
  }
  HttpResponse ServeJson(const std::string& body) {
    ProtoHttpRequest r;
    r.content_type = kJson;
    r.body = body;
    return Serve(r);
  }

  int dispatched_ = 0;
  Call last_;
  std::optional<absl::StatusOr<Response>> answer_ = HealthyResponse();

  static Response HealthyResponse() {
    Response r;
    r.set_type(Response::GET_HEALTH);
    r.mutable_get_health()->set_healthy(true);
    return r;
  }
};

TEST_F(ProtoHttpTest, JsonInJsonOut) {
  HttpResponse r = ServeJson(R"({"type": "GET_HEALTH"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, kJson);
  EXPECT_EQ(nlohmann::json::parse(r.body),
            nlohmann::json::parse(
                R"({"type": "GET_HEALTH", "get_health": {"healthy": true}})"));
  EXPECT_EQ(last_.type(), Call::GET_HEALTH);
}

TEST_F(ProtoHttpTest, ProtobufInProtobufOut) {
  Call call;
  call.set_type(Call::GET_CONTAINERS);
  call.mutable_get_containers()->set_show_nested(true);
  ProtoHttpRequest request;
  request.content_type = kProtobuf;
  request.accept = kProtobuf;
  request.body = call.SerializeAsString();
  HttpResponse r = Serve(request);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, kProtobuf);
  Response response;
  ASSERT_TRUE(response.ParseFromString(r.body));
  EXPECT_TRUE(response.get_health().healthy());
  EXPECT_EQ(last_.type(), Call::GET_CONTAINERS);
  EXPECT_TRUE(last_.get_containers().show_nested());
}

TEST_F(ProtoHttpTest, MediaTypeErrors) {
  ProtoHttpRequest request;
  request.body = R"({"type": "GET_HEALTH"})";
  EXPECT_EQ(Serve(request).status, 400);  // No Content-Type.
  for (const char* type : {"text/plain", "application/recordio", "foo"}) {
    request.content_type = type;
    HttpResponse r = Serve(request);
    EXPECT_EQ(r.status, 415) << type;
    EXPECT_THAT(r.body, HasSubstr("Content-Type")) << type;
  }
  request.content_type = "application/json; charset=utf-8";
  EXPECT_EQ(Serve(request).status, 200);
  request.accept = "text/html";
  HttpResponse r = Serve(request);
  EXPECT_EQ(r.status, 406);
  EXPECT_THAT(r.body, HasSubstr("Accept"));
  request.accept = std::nullopt;
  request.has_message_content_type = true;
  EXPECT_EQ(Serve(request).status, 415);
  request.has_message_content_type = false;
  request.has_message_accept = true;
  EXPECT_EQ(Serve(request).status, 406);
  EXPECT_EQ(dispatched_, 1);  // Only the one that was answered.
}

TEST_F(ProtoHttpTest, MalformedBodiesAre400AndNeverDispatched) {
  for (const char* body :
       {"", "{", "not json", "[]", R"({"type": "NO_SUCH_CALL"})",
        R"({"type": "GET_METRICS", "get_metrics": {"timeout": {}}})"}) {
    HttpResponse r = ServeJson(body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_FALSE(r.body.empty()) << body;
  }
  ProtoHttpRequest request;
  request.content_type = kProtobuf;
  request.body = "\xff\xff\xff\xff garbage";
  EXPECT_EQ(Serve(request).status, 400);
  EXPECT_EQ(dispatched_, 0);
}

TEST_F(ProtoHttpTest, ErrorsMapToStatusCodes) {
  answer_ = absl::UnimplementedError("agent operator call PRUNE_IMAGES is ...");
  HttpResponse r = ServeJson(R"({"type": "PRUNE_IMAGES"})");
  EXPECT_EQ(r.status, 501);
  EXPECT_THAT(r.body, HasSubstr("PRUNE_IMAGES"));
  answer_ = absl::InvalidArgumentError("expecting 'type' to be present");
  EXPECT_EQ(ServeJson("{}").status, 400);
  answer_ = std::nullopt;  // The loop did not answer.
  EXPECT_EQ(ServeJson(R"({"type": "GET_HEALTH"})").status, 503);
}

TEST(AcceptsMediaTypeTest, MostSpecificRangeDecides) {
  EXPECT_TRUE(AcceptsMediaType(std::nullopt, kJson));
  EXPECT_TRUE(AcceptsMediaType("*/*", kProtobuf));
  EXPECT_TRUE(AcceptsMediaType("application/*", kJson));
  EXPECT_FALSE(AcceptsMediaType("text/*", kJson));
  EXPECT_TRUE(AcceptsMediaType("text/html, application/json;q=0.5", kJson));
  EXPECT_FALSE(AcceptsMediaType("application/json;q=0, */*", kJson));
  EXPECT_TRUE(AcceptsMediaType("application/json;q=0, */*", kProtobuf));
  EXPECT_TRUE(AcceptsMediaType("APPLICATION/X-PROTOBUF", kProtobuf));
}

}  // namespace
}  // namespace agora
