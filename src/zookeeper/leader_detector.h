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

// Builds a detector from a --master flag value: "host:port" (standalone).
// "zk://..." is InvalidArgument until ZooKeeper detection lands, with a
// message that says so; anything else is InvalidArgument naming the value.
absl::StatusOr<std::unique_ptr<LeaderDetector>> CreateLeaderDetector(
    absl::string_view master);

}  // namespace agora

#endif  // AGORA_ZOOKEEPER_LEADER_DETECTOR_H_
