// Shared by the contender and detector tests: one fake ZooKeeper server, a
// ManualClock loop, records and recorders.
#ifndef AGORA_TESTS_ZOOKEEPER_GROUP_TEST_UTIL_H_
#define AGORA_TESTS_ZOOKEEPER_GROUP_TEST_UTIL_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/event_loop.h"
#include "fakes/fake_zookeeper.h"
#include "gtest/gtest.h"
#include "zookeeper/master_group.h"

namespace agora {
namespace zk {

inline constexpr char kGroup[] = "/agora";

inline MasterRecord Record(int n) {
  MasterRecord r;
  r.id = "master-" + std::to_string(n);
  r.hostname = "master" + std::to_string(n);
  r.ip = "10.0.0." + std::to_string(n);
  r.port = 5050;
  r.http_port = 5080;
  r.version = "0.1.0";
  return r;
}

// What a contender reported, in order.
struct ContenderEvents {
  std::vector<std::pair<MasterContender::Event, std::string>> events;
  MasterContender::Callback Callback() {
    return [this](MasterContender::Event e, const std::string& why) {
      events.emplace_back(e, why);
    };
  }
  std::vector<MasterContender::Event> kinds() const {
    std::vector<MasterContender::Event> out;
    for (const auto& e : events) out.push_back(e.first);
    return out;
  }
};

class GroupTest : public ::testing::Test {
 protected:
  // Delivers ZooKeeper replies and runs the loop until both are quiet.
  void Settle() {
    for (int i = 0; i < 1000; ++i) {
      if (server_.RunPending() + loop_.RunUntilIdle() == 0) return;
    }
    FAIL() << "the fake and the loop never settled";
  }
  void Advance(absl::Duration d) {
    Settle();
    loop_.AdvanceTime(&clock_, d);
    Settle();
  }
  // A member created by hand (as an operator or another tool would).
  void CreateNode(const std::string& path, const std::string& data) {
    FakeZooKeeper admin(&server_);
    absl::Status status = absl::InternalError("no reply");
    admin.Create(path, data, kPersistent,
                 [&](absl::StatusOr<std::string> r) { status = r.status(); });
    server_.RunPending();
    ASSERT_TRUE(status.ok()) << status;
  }

  ManualClock clock_;
  EventLoop loop_{"test", &clock_};
  FakeZooKeeperServer server_;
};

}  // namespace zk
}  // namespace agora

#endif  // AGORA_TESTS_ZOOKEEPER_GROUP_TEST_UTIL_H_
