#include "master/leadership.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace agora {
namespace {

// What a master serves in every state: these describe this process.
bool ServedLocally(const std::string& path) {
  std::string p = path;
  if (p.rfind("/master/", 0) == 0) p = p.substr(7);
  return p == "/health" || p == "/version" || p == "/flags" ||
         p == "/metrics/snapshot" || p == "/redirect";
}

}  // namespace

void Leadership::SetState(State state) {
  absl::MutexLock lock(&mu_);
  state_ = state;
}

Leadership::State Leadership::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

void Leadership::SetSelf(zk::MasterRecord self) {
  absl::MutexLock lock(&mu_);
  self_ = std::move(self);
}

void Leadership::SetLeader(std::optional<zk::MasterRecord> leader) {
  absl::MutexLock lock(&mu_);
  leader_ = std::move(leader);
}

std::optional<zk::MasterRecord> Leadership::leader() const {
  absl::MutexLock lock(&mu_);
  return leader_;
}

grpc::Status Leadership::CheckGrpc(grpc::CallbackServerContext* context) const {
  absl::MutexLock lock(&mu_);
  switch (state_) {
    case State::kLeading:
      return grpc::Status::OK;
    case State::kRecovering:
      // Elected: this master names itself, so a client waits for it rather
      // than looking elsewhere.
      if (self_.has_value()) {
        context->AddTrailingMetadata(kLeaderMetadata, self_->GrpcAddress());
      }
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "master has not finished recovery");
    case State::kStandby:
      break;
  }
  if (leader_.has_value()) {
    context->AddTrailingMetadata(kLeaderMetadata, leader_->GrpcAddress());
  }
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "not the leading master");
}

std::optional<HttpResponse> Leadership::CheckHttp(
    const std::string& path, const std::string& query) const {
  if (ServedLocally(path)) return std::nullopt;
  absl::MutexLock lock(&mu_);
  switch (state_) {
    case State::kLeading:
      return std::nullopt;
    case State::kRecovering:
      return HttpResponse{503, "text/plain",
                          "master has not finished recovery"};
    case State::kStandby:
      break;
  }
  if (!leader_.has_value()) {
    return HttpResponse{503, "text/plain", "no leading master is known"};
  }
  HttpResponse redirect{307, "text/plain", ""};
  std::string location = absl::StrCat("//", leader_->HttpAddress(), path);
  if (!query.empty()) absl::StrAppend(&location, "?", query);
  redirect.headers.emplace_back("Location", std::move(location));
  return redirect;
}

HttpResponse Leadership::Redirect() const {
  absl::MutexLock lock(&mu_);
  if (!leader_.has_value()) {
    return HttpResponse{503, "text/plain", "no leading master is known"};
  }
  HttpResponse redirect{307, "text/plain", ""};
  redirect.headers.emplace_back("Location",
                                absl::StrCat("//", leader_->HttpAddress()));
  return redirect;
}

}  // namespace agora
