// MasterServer: one running master — its loop thread, the Master, the gRPC
// server (scheduler and agent services) and the HTTP server. main.cc runs
// one; tests start one in-process on port 0.
//
// Thread rule: Start/Stop from one (non-loop) thread.
#ifndef AGORA_MASTER_MASTER_SERVER_H_
#define AGORA_MASTER_MASTER_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/event_loop.h"
#include "common/http_server.h"
#include "grpcpp/grpcpp.h"
#include "master/agent_service.h"
#include "master/master.h"
#include "master/master_options.h"
#include "master/operator_service.h"
#include "master/registry.h"
#include "master/scheduler_service.h"

namespace agora {

class MasterServer {
 public:
  // Validates `options`, recovers the registry, binds both servers and
  // starts serving. `registry` replaces the one `options` names (tests, and
  // the ZooKeeper back-end, which needs the election's session); null means
  // the one from the options (InvalidArgument for kZooKeeper). InvalidArgument
  // for bad options, DataLoss/Unavailable from the registry, Unavailable when a
  // port cannot be bound.
  static absl::StatusOr<std::unique_ptr<MasterServer>> Start(
      MasterOptions options, std::unique_ptr<Registry> registry = nullptr);
  ~MasterServer();  // Stop().

  // Closes every stream, stops both servers and the loop. Idempotent.
  void Stop();

  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_port_; }
  // "ip:port" of the gRPC server.
  std::string grpc_address() const;
  const std::string& master_id() const { return master_->id(); }

  EventLoop* loop() { return &loop_; }
  Master* master() { return master_.get(); }

 private:
  explicit MasterServer(MasterOptions options);
  absl::Status Init(std::unique_ptr<Registry> registry);

  MasterOptions options_;
  EventLoop loop_;
  std::unique_ptr<Master> master_;
  std::unique_ptr<SchedulerService> scheduler_service_;
  std::unique_ptr<AgentLinkService> agent_service_;
  std::unique_ptr<OperatorService> operator_service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<HttpServer> http_server_;
  int grpc_port_ = 0;
  int http_port_ = 0;
  bool stopped_ = false;
};

}  // namespace agora

#endif  // AGORA_MASTER_MASTER_SERVER_H_
