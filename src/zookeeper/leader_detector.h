// LeaderDetector: where the leading master is. Agents, the scheduler driver
// and the CLI find the master only through this interface, so ZooKeeper
// election plugs in behind it without touching them.
//
// Thread rule: implementations are thread-safe; callbacks run on a detector
// thread or inline in Watch(), and must only post to the caller's loop.
#ifndef AGORA_ZOOKEEPER_LEADER_DETECTOR_H_
#define AGORA_ZOOKEEPER_LEADER_DETECTOR_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace agora {

class LeaderDetector {
 public:
  // The leader's gRPC address "host:port", or nullopt while none is known.
  using Callback = std::function<void(std::optional<std::string>)>;

  virtual ~LeaderDetector() = default;
  // Calls `cb` with the current leader, then after every change, until the
  // detector is destroyed.
  virtual void Watch(Callback cb) = 0;
  // A human-readable description for logs ("standalone master at h:p").
  virtual std::string Describe() const = 0;
};

// A fixed master address: no election, the leader never changes.
class StandaloneDetector : public LeaderDetector {
 public:
  explicit StandaloneDetector(std::string address)
      : address_(std::move(address)) {}
  void Watch(Callback cb) override { cb(address_); }
  std::string Describe() const override {
    return "standalone master at " + address_;
  }

 private:
  const std::string address_;
};

// Mesos's session timeout for detectors (agents, drivers, the CLI).
inline constexpr absl::Duration kDefaultZkSessionTimeout = absl::Seconds(10);

// Builds a detector from a --master flag value: "host:port" (standalone), or
// "zk://[user:pass@]h1:p1,.../path" or "file:///path" holding such a URL:
// a detector with a ZooKeeper session of its own (`zk_session_timeout`) and
// a thread of its own, reporting the leading master's gRPC address
// (zk::MasterRecord::GrpcAddress) and "no leader" as
// zk::ZooKeeperMasterDetector says. InvalidArgument naming the value for a
// malformed one; NotFound/PermissionDenied for an unreadable file://.
absl::StatusOr<std::unique_ptr<LeaderDetector>> CreateLeaderDetector(
    absl::string_view master,
    absl::Duration zk_session_timeout = kDefaultZkSessionTimeout);

}  // namespace agora

#endif  // AGORA_ZOOKEEPER_LEADER_DETECTOR_H_
