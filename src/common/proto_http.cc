#include "common/proto_http.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/proto_json.h"
#include "httplib.h"

namespace agora {
namespace {

constexpr char kJson[] = "application/json";
constexpr char kProtobuf[] = "application/x-protobuf";

HttpResponse Text(int status, std::string message) {
  return {status, "text/plain", std::move(message)};
}

// "Application/JSON; charset=utf-8" -> "application/json".
std::string BareMediaType(absl::string_view value) {
  absl::string_view type = value.substr(0, value.find(';'));
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(type));
}

int HttpCodeOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

// How specific `range` is for `media_type`: 3 exact, 2 type/*, 1 */*,
// 0 no match.
int Specificity(const std::string& range, const std::string& media_type) {
  if (range == media_type) return 3;
  if (range == "*/*") return 1;
  std::string prefix = media_type.substr(0, media_type.find('/'));
  return range == prefix + "/*" ? 2 : 0;
}

// The q parameter of one Accept entry's parameters (1 when absent or
// malformed as Mesos reads it).
double QualityOf(const std::vector<absl::string_view>& params) {
  for (size_t i = 1; i < params.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(params[i], absl::MaxSplits('=', 1));
    if (absl::StripAsciiWhitespace(kv.first) != "q") continue;
    double q = 1;
    if (absl::SimpleAtod(absl::StripAsciiWhitespace(kv.second), &q)) return q;
  }
  return 1;
}

// Parses `body` of media type `type` (JSON or protobuf) into `call`.
absl::Status ParseCall(const std::string& type, const std::string& body,
                       google::protobuf::Message* call) {
  if (type == kJson) return ProtoFromJson(body, call);
  if (call->ParseFromString(body)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "failed to parse body into ", call->GetDescriptor()->full_name(), ": ",
      call->IsInitialized() ? "malformed protobuf"
                            : call->InitializationErrorString()));
}

}  // namespace

bool AcceptsMediaType(const std::optional<std::string>& accept,
                      const std::string& media_type) {
  if (!accept) return true;
  int best = 0;
  double quality = 0;
  for (absl::string_view entry : absl::StrSplit(*accept, ',')) {
    std::vector<absl::string_view> params = absl::StrSplit(entry, ';');
    int specificity = Specificity(BareMediaType(params[0]), media_type);
    if (specificity > best) {
      best = specificity;
      quality = QualityOf(params);
    }
  }
  return best > 0 && quality > 0;
}

ProtoHttpRequest ProtoHttpRequestOf(const httplib::Request& req) {
  ProtoHttpRequest request;
  if (req.has_header("Content-Type")) {
    request.content_type = req.get_header_value("Content-Type");
  }
  if (req.has_header("Accept")) request.accept = req.get_header_value("Accept");
  request.has_message_content_type = req.has_header("Message-Content-Type");
  request.has_message_accept = req.has_header("Message-Accept");
  request.body = req.body;
  return request;
}

std::optional<HttpResponse> ParseProtoRequest(const ProtoHttpRequest& request,
                                              google::protobuf::Message* call,
                                              bool* json_answer) {
  if (!request.content_type) {
    return Text(400, "expecting 'Content-Type' to be present");
  }
  std::string type = BareMediaType(*request.content_type);
  if (type != kJson && type != kProtobuf) {
    return Text(415,
                absl::StrCat("expecting 'Content-Type' of ", kJson, " or ",
                             kProtobuf, " (no streaming call is served), got '",
                             *request.content_type, "'"));
  }
  if (request.has_message_content_type) {
    return Text(415,
                "expecting 'Message-Content-Type' to be not set for "
                "non-streaming requests");
  }
  if (AcceptsMediaType(request.accept, kJson)) {
    *json_answer = true;
  } else if (AcceptsMediaType(request.accept, kProtobuf)) {
    *json_answer = false;
  } else {
    return Text(406, absl::StrCat("expecting 'Accept' to allow ", kJson, " or ",
                                  kProtobuf));
  }
  if (request.has_message_accept) {
    return Text(406,
                "expecting 'Message-Accept' to be not set for non-streaming "
                "responses");
  }
  absl::Status parsed = ParseCall(type, request.body, call);
  if (!parsed.ok()) return Text(400, std::string(parsed.message()));
  return std::nullopt;
}

HttpResponse ProtoAnswer(const google::protobuf::Message& response,
                         bool json_answer) {
  if (json_answer) return {200, kJson, ProtoToJson(response)};
  return {200, kProtobuf, response.SerializeAsString()};
}

HttpResponse ProtoErrorAnswer(const absl::Status& error) {
  return Text(HttpCodeOf(error), std::string(error.message()));
}

}  // namespace agora
