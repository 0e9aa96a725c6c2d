// The HTTP transport of the agent operator API: POST /api/v1 as Mesos's
// agent serves it. The request body is a mesos.v1.agent.Call in JSON
// (Content-Type application/json) or protobuf (application/x-protobuf);
// the answer is the Response in the first of those two the Accept header
// allows (JSON when it is absent). Answers, as Mesos's:
//   200  the Response
//   400  no Content-Type, a body that does not parse, no type, a call
//        without the body it needs
//   406  Accept allows neither JSON nor protobuf; Message-Accept present
//   415  another Content-Type (application/recordio included: no
//        streaming call is served); Message-Content-Type present
//   501  a call type this agent does not serve, named in the body
//   503  the agent loop did not answer
// Error bodies are text/plain messages.
//
// Thread rule: ServeOperatorApi() runs on an HTTP thread; `dispatch` is
// what posts to the agent loop.
#ifndef AGORA_AGENT_OPERATOR_HTTP_H_
#define AGORA_AGENT_OPERATOR_HTTP_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/http_server.h"
#include "mesos/v1/agent/agent.pb.h"

namespace agora {

struct OperatorHttpRequest {
  std::optional<std::string> content_type;
  std::optional<std::string> accept;
  bool has_message_content_type = false;  // Mesos's streaming headers.
  bool has_message_accept = false;
  std::string body;
};

// The call's Response or error; nullopt when the loop did not answer.
using OperatorDispatch =
    std::function<std::optional<absl::StatusOr<mesos::v1::agent::Response>>(
        const mesos::v1::agent::Call&)>;

HttpResponse ServeOperatorApi(const OperatorHttpRequest& request,
                              const OperatorDispatch& dispatch);

// Whether an Accept header value allows `media_type` (type/subtype): its
// most specific matching range (exact, type/*, */*) has q > 0. An absent
// header allows everything.
bool AcceptsMediaType(const std::optional<std::string>& accept,
                      const std::string& media_type);

}  // namespace agora

#endif  // AGORA_AGENT_OPERATOR_HTTP_H_
