#include "zookeeper/leader_detector.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/event_loop.h"
#include "common/status_macros.h"
#include "zookeeper/master_group.h"
#include "zookeeper/zookeeper.h"

namespace agora {
namespace {

// A ZooKeeper session, a loop thread and a ZooKeeperMasterDetector of its
// own; reports the leader's gRPC address, once per change of address.
class ZooKeeperLeaderDetector : public LeaderDetector {
 public:
  ZooKeeperLeaderDetector(zk::Url url, std::unique_ptr<zk::ZooKeeper> zk)
      : url_(std::move(url)), loop_("leader-detector"), zk_(std::move(zk)) {
    detector_ = std::make_unique<zk::ZooKeeperMasterDetector>(
        zk_.get(), url_.path, &loop_);
    loop_.Start();
  }

  ~ZooKeeperLeaderDetector() override {
    // No callback after this: the loop stops first, then the detector, then
    // the session (whose late callbacks find the detector gone).
    loop_.Stop();
    detector_.reset();
    zk_.reset();
  }

  void Watch(Callback cb) override {
    // Touched on the loop only.
    auto last = std::make_shared<std::optional<std::optional<std::string>>>();
    detector_->Watch([cb, last](std::optional<zk::MasterRecord> leader) {
      std::optional<std::string> address;
      if (leader.has_value()) address = leader->GrpcAddress();
      if (last->has_value() && **last == address) return;
      *last = address;
      cb(address);
    });
  }

  std::string Describe() const override {
    return absl::StrCat("masters elected in ZooKeeper at ", url_.ToString());
  }

 private:
  const zk::Url url_;
  EventLoop loop_;
  std::unique_ptr<zk::ZooKeeper> zk_;
  std::unique_ptr<zk::ZooKeeperMasterDetector> detector_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<LeaderDetector>> CreateLeaderDetector(
    absl::string_view master, absl::Duration zk_session_timeout) {
  if (absl::StartsWith(master, "zk://") ||
      absl::StartsWith(master, "file://")) {
    absl::StatusOr<zk::Url> url = zk::ParseUrl(master);
    if (!url.ok()) {
      return absl::Status(url.status().code(),
                          absl::StrCat("--master: ", url.status().message()));
    }
    AGORA_ASSIGN_OR_RETURN(std::unique_ptr<zk::ZooKeeper> session,
                           zk::NewZooKeeper(*url, zk_session_timeout));
    return std::make_unique<ZooKeeperLeaderDetector>(*std::move(url),
                                                     std::move(session));
  }
  size_t colon = master.rfind(':');
  int port = 0;
  if (master.empty() || colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(master.substr(colon + 1), &port) || port <= 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--master='", master,
                     "': expected host:port (for example 127.0.0.1:5050), "
                     "zk://host:port[,host:port...]/path or file:///path"));
  }
  return std::make_unique<StandaloneDetector>(std::string(master));
}

}  // namespace agora
