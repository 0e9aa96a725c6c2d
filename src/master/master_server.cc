#include "master/master_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <unistd.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "glog/logging.h"
#include "master/http_endpoints.h"

namespace agora {
namespace {

std::string LocalHostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') {
    return "localhost";
  }
  return name;
}

// The address to advertise: `ip`, or for the wildcard the first IPv4
// address of `hostname` (loopback when it does not resolve).
std::string AdvertisedIp(const std::string& ip, const std::string& hostname) {
  if (ip != "0.0.0.0") return ip;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  addrinfo* result = nullptr;
  std::string out = "127.0.0.1";
  if (::getaddrinfo(hostname.c_str(), nullptr, &hints, &result) == 0 &&
      result != nullptr) {
    char buf[INET_ADDRSTRLEN] = {};
    auto* addr = reinterpret_cast<sockaddr_in*>(result->ai_addr);
    if (::inet_ntop(AF_INET, &addr->sin_addr, buf, sizeof(buf)) != nullptr) {
      out = buf;
    }
  }
  if (result != nullptr) ::freeaddrinfo(result);
  return out;
}

}  // namespace

MasterServer::MasterServer(MasterOptions options)
    : options_(std::move(options)), loop_("master") {}

absl::StatusOr<std::unique_ptr<MasterServer>> MasterServer::Start(
    MasterOptions options, std::unique_ptr<Registry> registry) {
  AGORA_RETURN_IF_ERROR(ValidateMasterOptions(options));
  if (options.hostname.empty()) options.hostname = LocalHostname();
  std::unique_ptr<MasterServer> server(new MasterServer(std::move(options)));
  absl::Status status = server->Init(std::move(registry));
  if (!status.ok()) return status;
  return server;
}

absl::Status MasterServer::Init(std::unique_ptr<Registry> registry) {
  if (registry == nullptr) {
    switch (options_.registry) {
      case RegistryKind::kInMemory:
        registry = NewInMemoryRegistry();
        break;
      case RegistryKind::kLocal:
        registry = NewLocalRegistry(options_.work_dir + "/registry.bin");
        break;
      case RegistryKind::kZooKeeper:
        // Built by the election flow from the ZooKeeper session and this
        // master's election znode (NewZooKeeperRegistry).
        return absl::InvalidArgumentError(
            "--registry=zookeeper needs a ZooKeeper registry from the "
            "master's election (--zk)");
    }
  }
  master_ = std::make_unique<Master>(options_, &loop_, std::move(registry));
  AGORA_RETURN_IF_ERROR(master_->Recover());

  scheduler_service_ = std::make_unique<SchedulerService>(
      &loop_, master_.get(), options_.max_framework_events_queued);
  agent_service_ = std::make_unique<AgentLinkService>(
      &loop_, master_.get(), options_.max_agent_messages_queued);
  operator_service_ = std::make_unique<OperatorService>(&loop_, master_.get());
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat(options_.ip, ":", options_.port),
                           grpc::InsecureServerCredentials(), &grpc_port_);
  builder.RegisterService(scheduler_service_.get());
  builder.RegisterService(agent_service_.get());
  builder.RegisterService(operator_service_.get());
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr || grpc_port_ <= 0) {
    return absl::UnavailableError(absl::StrCat(
        "failed to bind gRPC on ", options_.ip, ":", options_.port));
  }
  master_->Start(AdvertisedIp(options_.ip, options_.hostname), grpc_port_);
  loop_.Start();

  http_server_ = std::make_unique<HttpServer>();
  AddMasterEndpoints(http_server_.get(), &loop_, master_.get());
  AGORA_ASSIGN_OR_RETURN(http_port_,
                         http_server_->Start(options_.ip, options_.http_port));
  return absl::OkStatus();
}

std::string MasterServer::grpc_address() const {
  std::string ip = options_.ip == "0.0.0.0" ? "127.0.0.1" : options_.ip;
  return absl::StrCat(ip, ":", grpc_port_);
}

MasterServer::~MasterServer() { Stop(); }

void MasterServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (http_server_ != nullptr) http_server_->Stop();
  if (master_ != nullptr && grpc_server_ != nullptr) {
    Master* master = master_.get();
    // Streams end first, so that the gRPC server can drain.
    RunOnLoop<bool>(&loop_, [master] {
      master->Shutdown();
      return true;
    });
  }
  if (grpc_server_ != nullptr) {
    grpc_server_->Shutdown(std::chrono::system_clock::now() +
                           std::chrono::seconds(2));
    grpc_server_->Wait();
  }
  loop_.Stop();
}

}  // namespace agora
