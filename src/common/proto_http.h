// The HTTP transport of Mesos's v1 operator APIs: POST /api/v1 on an agent
// or a master, as Mesos serves it. The request body is a Call in JSON
// (Content-Type application/json, proto_json.h) or protobuf
// (application/x-protobuf); the answer is the Response in the first of
// those two the Accept header allows (JSON when it is absent). Answers, as
// Mesos's:
//   200  the Response
//   400  no Content-Type, a body that does not parse into a Call (or lacks
//        a required field), or the dispatch's InvalidArgument
//   406  Accept allows neither JSON nor protobuf; Message-Accept present
//   415  another Content-Type (application/recordio included: no streaming
//        call is served); Message-Content-Type present
//   404/409/501/503  the dispatch's NotFound, FailedPrecondition,
//        Unimplemented, Unavailable (503 also when the loop did not answer)
// Error bodies are text/plain messages.
//
// Thread rule: runs on an HTTP thread; `dispatch` is what posts to the
// daemon's loop.
#ifndef AGORA_COMMON_PROTO_HTTP_H_
#define AGORA_COMMON_PROTO_HTTP_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/http_server.h"
#include "google/protobuf/message.h"

namespace agora {

struct ProtoHttpRequest {
  std::optional<std::string> content_type;
  std::optional<std::string> accept;
  bool has_message_content_type = false;  // Mesos's streaming headers.
  bool has_message_accept = false;
  std::string body;
};

// The headers and body of an HTTP request as ServeProtoApi reads them.
ProtoHttpRequest ProtoHttpRequestOf(const httplib::Request& request);

// Checks `request`'s media types and parses its body into `call`. nullopt
// when both are fine (`*json_answer` then says how to answer), else the
// 400/406/415 response.
std::optional<HttpResponse> ParseProtoRequest(const ProtoHttpRequest& request,
                                              google::protobuf::Message* call,
                                              bool* json_answer);

// 200 with `response` in JSON or protobuf.
HttpResponse ProtoAnswer(const google::protobuf::Message& response,
                         bool json_answer);

// The HTTP status and text/plain message of a dispatch error.
HttpResponse ProtoErrorAnswer(const absl::Status& error);

// Parses a Call, hands it to `dispatch` and answers its Response.
// `dispatch` returns nullopt when the daemon's loop did not answer.
template <typename Call, typename Response>
HttpResponse ServeProtoApi(
    const ProtoHttpRequest& request,
    const std::function<std::optional<absl::StatusOr<Response>>(const Call&)>&
        dispatch) {
  Call call;
  bool json_answer = true;
  if (std::optional<HttpResponse> bad =
          ParseProtoRequest(request, &call, &json_answer)) {
    return *bad;
  }
  std::optional<absl::StatusOr<Response>> response = dispatch(call);
  if (!response)
    return ProtoErrorAnswer(absl::UnavailableError("loop did not respond"));
  if (!response->ok()) return ProtoErrorAnswer(response->status());
  return ProtoAnswer(**response, json_answer);
}

// Whether an Accept header value allows `media_type` (type/subtype): its
// most specific matching range (exact, type/*, */*) has q > 0. An absent
// header allows everything.
bool AcceptsMediaType(const std::optional<std::string>& accept,
                      const std::string& media_type);

}  // namespace agora

#endif  // AGORA_COMMON_PROTO_HTTP_H_
