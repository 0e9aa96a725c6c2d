#include "master/master_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "glog/logging.h"
#include "master/http_endpoints.h"
#include "master/zookeeper_registry.h"

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

MasterServer::MasterServer(MasterOptions options, FatalHandler on_fatal)
    : options_(std::move(options)),
      on_fatal_(std::move(on_fatal)),
      loop_("master") {}

absl::StatusOr<std::unique_ptr<MasterServer>> MasterServer::Start(
    MasterOptions options, std::unique_ptr<Registry> registry,
    FatalHandler on_fatal) {
  AGORA_RETURN_IF_ERROR(ValidateMasterOptions(options));
  if (options.hostname.empty()) options.hostname = LocalHostname();
  if (on_fatal != nullptr && options.on_registry_store_timeout == nullptr) {
    options.on_registry_store_timeout = on_fatal;
  }
  std::unique_ptr<MasterServer> server(
      new MasterServer(std::move(options), std::move(on_fatal)));
  absl::Status status = server->Init(std::move(registry));
  if (!status.ok()) return status;
  return server;
}

absl::Status MasterServer::Init(std::unique_ptr<Registry> registry) {
  advertised_ip_ = AdvertisedIp(options_.ip, options_.hostname);
  if (options_.zk.has_value()) {
    AGORA_ASSIGN_OR_RETURN(
        zk_, zk::NewZooKeeper(*options_.zk, options_.zk_session_timeout));
    AGORA_RETURN_IF_ERROR(WaitForSession());
  }
  // The ZooKeeper back-end exists only once elected (UseRegistry in
  // OnElected): its writes are fenced by the election znode.
  if (registry == nullptr && options_.registry != RegistryKind::kZooKeeper) {
    registry = options_.registry == RegistryKind::kInMemory
                   ? NewInMemoryRegistry()
                   : NewLocalRegistry(options_.work_dir + "/registry.bin");
  }
  master_ = std::make_unique<Master>(options_, &loop_, std::move(registry));
  if (!options_.zk.has_value()) {
    // Standalone: this master leads itself from the start.
    AGORA_RETURN_IF_ERROR(master_->Recover());
  }
  AGORA_RETURN_IF_ERROR(BindServers());
  master_->SetAddress(advertised_ip_, grpc_port_);
  if (!options_.zk.has_value()) {
    master_->Start();
    leadership_.SetLeader(SelfRecord());
    leadership_.SetState(Leadership::State::kLeading);
    loop_.Start();
    return absl::OkStatus();
  }
  loop_.Start();
  JoinGroup();
  return absl::OkStatus();
}

absl::Status MasterServer::BindServers() {
  scheduler_service_ =
      std::make_unique<SchedulerService>(&loop_, master_.get(), &leadership_,
                                         options_.max_framework_events_queued);
  agent_service_ = std::make_unique<AgentLinkService>(
      &loop_, master_.get(), &leadership_, options_.max_agent_messages_queued);
  operator_service_ =
      std::make_unique<OperatorService>(&loop_, master_.get(), &leadership_);
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
  http_server_ = std::make_unique<HttpServer>();
  const Leadership* leadership = &leadership_;
  http_server_->SetGate(
      [leadership](const std::string& path, const std::string& query) {
        return leadership->CheckHttp(path, query);
      });
  AddMasterEndpoints(http_server_.get(), &loop_, master_.get(), leadership);
  AGORA_ASSIGN_OR_RETURN(http_port_,
                         http_server_->Start(options_.ip, options_.http_port));
  return absl::OkStatus();
}

absl::Status MasterServer::WaitForSession() {
  // Start-up only, before any loop or server runs: a plain poll.
  const absl::Time start = absl::Now();
  absl::Time next_log = start;
  while (zk_->state() != zk::SessionState::kConnected) {
    const absl::Time now = absl::Now();
    if (now - start > options_.zk_connect_timeout) {
      return absl::UnavailableError(absl::StrCat(
          "no ZooKeeper session with ", options_.zk->ToString(), " within ",
          absl::FormatDuration(options_.zk_connect_timeout),
          "; check --zk and that a quorum of its servers is up"));
    }
    if (now >= next_log) {
      LOG(INFO) << "Waiting for a ZooKeeper session with "
                << options_.zk->ToString();
      next_log = now + absl::Seconds(10);
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  LOG(INFO) << "ZooKeeper session 0x" << std::hex << zk_->session_id()
            << std::dec << " with " << options_.zk->ToString() << " (timeout "
            << absl::FormatDuration(zk_->session_timeout()) << ")";
  return absl::OkStatus();
}

void MasterServer::JoinGroup() {
  zk_->OnSessionEvent([this](zk::SessionState state) {
    loop_.Post([state] {
      LOG(INFO) << "ZooKeeper session is " << zk::SessionStateName(state);
    });
  });
  loop_.Post([this] {
    detector_ = std::make_unique<zk::ZooKeeperMasterDetector>(
        zk_.get(), options_.zk->path, &loop_);
    detector_->Watch([this](std::optional<zk::MasterRecord> leader) {
      leadership_.SetLeader(leader);
      if (leader.has_value()) {
        LOG(INFO) << "The leading master is " << leader->id << " at "
                  << leader->GrpcAddress();
      } else {
        LOG(INFO) << "No leading master is known";
      }
    });
    Contend();
  });
}

void MasterServer::Contend() {
  if (stopping_) return;
  // One contender for the process: contending again after kLost lets it
  // clean up a member it may still own (a session that outlived a long
  // disconnection).
  if (contender_ == nullptr) {
    contender_ = std::make_unique<zk::MasterContender>(
        zk_.get(), options_.zk->path, &loop_);
  }
  contend_session_ = zk_->session_id();
  contender_->Contend(SelfRecord(), [this](zk::MasterContender::Event event,
                                           const std::string& why) {
    OnContenderEvent(event, why);
  });
  LOG(INFO) << "Master " << master_->id() << " contending in "
            << options_.zk->ToString();
}

void MasterServer::OnContenderEvent(zk::MasterContender::Event event,
                                    const std::string& why) {
  if (stopping_) return;
  const bool standby = leadership_.state() == Leadership::State::kStandby;
  if (event == zk::MasterContender::Event::kElected) {
    if (standby) OnElected();
    return;
  }
  if (!standby) {
    return Fatal(
        absl::UnavailableError(absl::StrCat("lost leadership (", why, ")")));
  }
  // A standby that lost its place contends again once its session was
  // replaced (the old session's member is gone with it). A session that
  // survived a long disconnection may still hold its old member, and a
  // second member of one master could lead while nobody serves; such a
  // standby exits like a leader and its supervisor restarts it.
  LOG(WARNING) << "Master " << master_->id() << " lost its place in the "
               << "group (" << why << ")";
  loop_.PostAfter(absl::Seconds(1), [this] {
    if (stopping_) return;
    if (zk_->session_id() != contend_session_ &&
        zk_->state() == zk::SessionState::kConnected) {
      LOG(INFO) << "New ZooKeeper session; contending again";
      return Contend();
    }
    Fatal(absl::UnavailableError(
        "lost the candidacy on a ZooKeeper session that may still hold this "
        "master's member"));
  });
}

void MasterServer::OnElected() {
  LOG(INFO) << "Master " << master_->id()
            << " elected as the leading master; recovering the registry";
  leadership_.SetSelf(SelfRecord());
  leadership_.SetState(Leadership::State::kRecovering);
  if (options_.registry == RegistryKind::kZooKeeper) {
    master_->UseRegistry(NewZooKeeperRegistry(zk_.get(), options_.zk->path,
                                              contender_->znode()));
  }
  master_->Recover([this](absl::Status status) {
    if (stopping_ || leadership_.state() != Leadership::State::kRecovering) {
      return;
    }
    if (!status.ok()) {
      return Fatal(absl::Status(
          status.code(),
          absl::StrCat("registry recovery failed: ", status.message())));
    }
    master_->SetLeaseCheck([this] { return loop_.Now() < lease_until_; });
    lease_until_ = loop_.Now() + zk_->session_timeout();
    RenewLease();
    master_->Start();
    leadership_.SetState(Leadership::State::kLeading);
    LOG(INFO) << "Master " << master_->id() << " is the leading master";
  });
}

void MasterServer::RenewLease() {
  if (stopping_) return;
  const absl::Time sent = loop_.Now();
  zk_->Exists(contender_->znode(), nullptr,
              [this, sent](absl::StatusOr<std::optional<zk::Stat>> stat) {
                if (!stat.ok() || !stat->has_value()) return;
                loop_.Post([this, sent] {
                  lease_until_ =
                      std::max(lease_until_, sent + zk_->session_timeout());
                });
              });
  loop_.PostAfter(zk_->session_timeout() / 3, [this] { RenewLease(); });
}

void MasterServer::Fatal(const absl::Status& status) {
  if (on_fatal_ != nullptr) return on_fatal_(status);
  LOG(ERROR) << "Master " << master_->id() << " exiting: " << status.message();
  google::FlushLogFiles(google::GLOG_INFO);
  std::_Exit(1);
}

zk::MasterRecord MasterServer::SelfRecord() const {
  zk::MasterRecord record;
  record.id = master_->id();
  record.hostname = options_.hostname;
  record.ip = advertised_ip_;
  record.port = grpc_port_;
  record.http_port = http_port_;
  record.version = master_->info().version();
  return record;
}

std::string MasterServer::grpc_address() const {
  std::string ip = options_.ip == "0.0.0.0" ? "127.0.0.1" : options_.ip;
  return absl::StrCat(ip, ":", grpc_port_);
}

MasterServer::~MasterServer() { Stop(); }

void MasterServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;
  if (zk_ != nullptr) {
    // Leave the group first: with the session closed our znode vanishes at
    // once and a standby takes over without waiting for the timeout.
    RunOnLoop<bool>(&loop_, [this] {
      if (contender_ != nullptr) contender_->Withdraw();
      contender_.reset();
      detector_.reset();
      return true;
    });
  }
  if (zk_ != nullptr) zk_->Close();
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
