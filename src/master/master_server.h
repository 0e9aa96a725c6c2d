// MasterServer: one running master — its loop thread, the Master, the gRPC
// server (scheduler, agent and operator services), the HTTP server and,
// with --zk, the ZooKeeper session, the contender and the leader detector.
// main.cc runs one; tests start one in-process on port 0.
//
// Lifecycle (docs/ha.md): without --zk the master recovers its registry and
// leads at once. With --zk it binds both servers as a standby (every call
// refused with the leader's address, see leadership.h), contends; when
// elected it recovers the registry, then starts (timers, offers). A master
// that loses the lead while recovering or leading calls `on_fatal` (main:
// log and exit non-zero; a supervisor restarts it); a standby that loses its
// session contends again.
//
// Thread rule: Start/Stop from one (non-loop) thread.
#ifndef AGORA_MASTER_MASTER_SERVER_H_
#define AGORA_MASTER_MASTER_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/event_loop.h"
#include "common/http_server.h"
#include "grpcpp/grpcpp.h"
#include "master/agent_service.h"
#include "master/leadership.h"
#include "master/master.h"
#include "master/master_options.h"
#include "master/operator_service.h"
#include "master/registry.h"
#include "master/scheduler_service.h"
#include "zookeeper/master_group.h"
#include "zookeeper/zookeeper.h"

namespace agora {

class MasterServer {
 public:
  // Called (on any thread) when the master must not go on: leadership lost
  // while recovering or leading, registry recovery failed after election.
  using FatalHandler = std::function<void(const absl::Status&)>;

  // Validates `options`, binds both servers and starts serving: as leader
  // (registry recovered first) without --zk, as a contending standby with
  // it. `registry` replaces the one `options` names (tests); null means the
  // one from the options. `on_fatal` null means: log and exit(1).
  // InvalidArgument for bad options, DataLoss/Unavailable from the registry
  // (standalone), Unavailable when a port cannot be bound or no ZooKeeper
  // session comes up within options.zk_connect_timeout.
  static absl::StatusOr<std::unique_ptr<MasterServer>> Start(
      MasterOptions options, std::unique_ptr<Registry> registry = nullptr,
      FatalHandler on_fatal = nullptr);
  ~MasterServer();  // Stop().

  // Leaves the group at once (a standby takes over without waiting for the
  // session timeout), closes every stream, stops both servers and the loop.
  // Idempotent.
  void Stop();

  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_port_; }
  // "ip:port" of the gRPC server.
  std::string grpc_address() const;
  const std::string& master_id() const { return master_->id(); }
  const Leadership& leadership() const { return leadership_; }

  EventLoop* loop() { return &loop_; }
  Master* master() { return master_.get(); }

 private:
  MasterServer(MasterOptions options, FatalHandler on_fatal);
  absl::Status Init(std::unique_ptr<Registry> registry);
  std::unique_ptr<Registry> NewRegistry();
  absl::Status BindServers();
  // --zk: the session, the detector, the contender.
  void JoinGroup();
  absl::Status WaitForSession();
  void Contend();
  // Loop thread.
  void OnContenderEvent(zk::MasterContender::Event event,
                        const std::string& why);
  void OnElected();
  // While leading: confirms the session with a ZooKeeper round trip every
  // third of the session timeout; the lease runs until the send time of
  // the last confirmed round trip plus the session timeout.
  void RenewLease();
  void Fatal(const absl::Status& status);
  zk::MasterRecord SelfRecord() const;

  MasterOptions options_;
  FatalHandler on_fatal_;
  EventLoop loop_;
  Leadership leadership_;
  std::string advertised_ip_;
  std::unique_ptr<Master> master_;
  std::unique_ptr<SchedulerService> scheduler_service_;
  std::unique_ptr<AgentLinkService> agent_service_;
  std::unique_ptr<OperatorService> operator_service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<HttpServer> http_server_;
  std::unique_ptr<zk::ZooKeeper> zk_;
  std::unique_ptr<zk::ZooKeeperMasterDetector> detector_;
  std::unique_ptr<zk::MasterContender> contender_;  // Loop thread.
  absl::Time lease_until_ = absl::InfinitePast();  // Loop thread.
  int64_t contend_session_ = 0;                     // Loop thread.
  int grpc_port_ = 0;
  int http_port_ = 0;
  bool stopped_ = false;
  std::atomic<bool> stopping_{false};
};

}  // namespace agora

#endif  // AGORA_MASTER_MASTER_SERVER_H_
