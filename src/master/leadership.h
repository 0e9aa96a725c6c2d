// Leadership: whether this master leads, and who does. The election flow
// (master_server.cc) moves it from standby to recovering to leading; every
// gRPC and HTTP edge asks it first, so a master that does not lead (yet)
// never touches the Master's state on a peer's behalf:
//   - standby: gRPC answers UNAVAILABLE "not the leading master" with the
//     leader's gRPC address in trailing metadata `agora-leader` (omitted
//     when no leader is known); HTTP answers 307 to the leader's HTTP
//     address (503 when none is known);
//   - recovering (elected, registry not yet read): UNAVAILABLE "master has
//     not finished recovery" with `agora-leader` naming this master (so a
//     client asks again shortly instead of backing off) / HTTP 503;
//   - leading: nothing is refused.
// Endpoints that describe this process (/health, /version, /flags,
// /metrics/snapshot) stay local in every state, as in Mesos.
//
// Thread rule: thread-safe.
#ifndef AGORA_MASTER_LEADERSHIP_H_
#define AGORA_MASTER_LEADERSHIP_H_

#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/http_server.h"
#include "grpcpp/grpcpp.h"
#include "zookeeper/master_group.h"

namespace agora {

inline constexpr char kLeaderMetadata[] = "agora-leader";

class Leadership {
 public:
  enum class State { kStandby, kRecovering, kLeading };

  // A standalone master (no --zk) starts as the leader of itself.
  explicit Leadership(State initial = State::kStandby) : state_(initial) {}

  void SetState(State state);
  State state() const;
  bool leading() const { return state() == State::kLeading; }
  // This master, named as the leader while it recovers.
  void SetSelf(zk::MasterRecord self);
  // The current leader as the detector last saw it (this master too).
  void SetLeader(std::optional<zk::MasterRecord> leader);
  std::optional<zk::MasterRecord> leader() const;

  // OK when this master leads; otherwise the status to answer a gRPC call
  // with, after adding `agora-leader` to `context` when a leader is known.
  grpc::Status CheckGrpc(grpc::CallbackServerContext* context) const;
  // nullopt when this master leads or `path` is served locally; otherwise
  // the redirect (307, `Location: //<leader-host>:<http-port><path>`, the
  // query string kept) or 503.
  std::optional<HttpResponse> CheckHttp(const std::string& path,
                                        const std::string& query) const;
  // GET /redirect: 307 to the leader's HTTP address (this master's own when
  // it leads), 503 when no leader is known.
  HttpResponse Redirect() const;

 private:
  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_);
  std::optional<zk::MasterRecord> leader_ ABSL_GUARDED_BY(mu_);
  std::optional<zk::MasterRecord> self_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agora

#endif  // AGORA_MASTER_LEADERSHIP_H_
