// The masters' group in ZooKeeper, in Mesos's layout: each master holds an
// ephemeral sequential znode `<path>/json.info_NNNNNNNNNN` whose data is its
// MasterInfo as JSON; the leader is the member with the lowest sequence.
// MasterContender puts this master in the group and says when it leads or
// lost the lead; ZooKeeperMasterDetector follows the leader for agents,
// drivers, the CLI and standby masters. See docs/ha.md.
//
// Thread rule: both classes keep their state on an EventLoop given to them
// (the master's own loop, or a loop of the detector's owner) and call back on
// it; their public methods may be called from any thread. Destroy them on
// that loop's thread or once it has stopped, and before the ZooKeeper client
// (whose Close() comes before the loop's end): destroy contender/detector,
// then the ZooKeeper client, then the loop. Timers (retries, the "no leader
// after a whole session timeout of disconnection" rule) run on the loop's
// clock, so tests drive them with a ManualClock.
#ifndef AGORA_ZOOKEEPER_MASTER_GROUP_H_
#define AGORA_ZOOKEEPER_MASTER_GROUP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/event_loop.h"
#include "zookeeper/zookeeper.h"

namespace agora {
namespace zk {

inline constexpr char kMasterNodePrefix[] = "json.info_";

// What a master publishes about itself: the fields of Mesos's MasterInfo
// that readers use, plus Agora's HTTP port (an extra JSON key, `http_port`,
// that Mesos readers ignore: Agora serves gRPC on `port` and HTTP apart).
struct MasterRecord {
  std::string id;
  std::string hostname;
  std::string ip;  // Dotted IPv4 ("127.0.0.1").
  int port = 0;    // gRPC.
  int http_port = 0;
  std::string version;

  std::string GrpcAddress() const;  // "hostname-or-ip:port" as agents dial.
  // "hostname-or-ip:http_port"; `port` when http_port is 0 (a record written
  // by Mesos, which serves HTTP on its one port).
  std::string HttpAddress() const;
};

bool operator==(const MasterRecord& a, const MasterRecord& b);
inline bool operator!=(const MasterRecord& a, const MasterRecord& b) {
  return !(a == b);
}

// Mesos's JSON: {"id","ip" (uint32, network order),"port","pid",
// "hostname","version","address":{"hostname","ip","port"}} plus
// "http_port". An `ip` that is not dotted IPv4 is written as 0.
std::string MasterRecordToJson(const MasterRecord& record);
// Unknown keys are ignored. The address comes from `address` and, where it
// lacks a field (or is absent, as in records of Mesos before 0.24), from
// the top-level `ip`/`port`/`hostname`. InvalidArgument naming what is
// missing or malformed (not JSON, no ip, no port, a port outside 1-65535, a
// field of the wrong type).
absl::StatusOr<MasterRecord> MasterRecordFromJson(absl::string_view json);

// The sequence of a member znode name ("json.info_0000000007" -> 7);
// nullopt for any other name.
std::optional<int64_t> MemberSequence(absl::string_view name);

class MasterContender {
 public:
  enum class Event {
    kElected,  // This master's znode is now the lowest.
    kLost,     // While contending or leading: the znode or the session is
               // gone, or (leading) another member became the lowest.
  };
  using Callback = std::function<void(Event, const std::string& why)>;

  // `zk` and `loop` must outlive the contender; `path` is the group
  // (Url::path). Callbacks run on `loop`.
  MasterContender(ZooKeeper* zk, std::string path, EventLoop* loop);
  ~MasterContender();  // Withdraw().

  MasterContender(const MasterContender&) = delete;
  MasterContender& operator=(const MasterContender&) = delete;

  // Creates the group path if missing, then this master's znode with
  // `record` as data, and watches the group. `cb` gets kElected once this
  // master's znode is the lowest member whose data parses (members with
  // garbage data are skipped, as the detector skips them), and kLost (once,
  // final) when it lost the lead or, not yet leading, its znode or session:
  // the znode deleted, the session expired, a disconnection lasting the
  // whole session timeout (the server has expired the session by then), a
  // lower member while leading, or a non-retryable error creating the znode
  // (e.g. PermissionDenied). Connection loss before the znode exists is
  // retried; a create whose reply was lost is recognized (a member with our
  // data owned by our session) rather than duplicated. After kLost the
  // znode, if it still exists, is deleted; Contend() may be called again.
  void Contend(const MasterRecord& record, Callback cb);
  // The full path of this master's znode once created ("" before and after
  // kLost/Withdraw); the registry's writes check it (fencing).
  std::string znode() const;
  // Deletes the znode (best effort) and stops reporting: once it returns on
  // the loop's thread, `cb` is not called again.
  void Withdraw();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

class ZooKeeperMasterDetector {
 public:
  // The current leader, nullopt for "no leader". Reported at the first
  // answer and then on every change of the lowest member; "no leader" only
  // when the group is empty, after the session expired, or after a
  // disconnection lasting the whole session timeout — never on a blip.
  // Members whose data does not parse are skipped with a log line.
  using Callback = std::function<void(std::optional<MasterRecord>)>;

  // `zk` and `loop` must outlive the detector; callbacks run on `loop`.
  ZooKeeperMasterDetector(ZooKeeper* zk, std::string path, EventLoop* loop);
  ~ZooKeeperMasterDetector();

  ZooKeeperMasterDetector(const ZooKeeperMasterDetector&) = delete;
  ZooKeeperMasterDetector& operator=(const ZooKeeperMasterDetector&) = delete;

  // Adds `cb`: it gets the current leader at once if one was already
  // reported, else with the first answer, then every change. A change is a
  // different lowest member (another znode, even with equal data) or "no
  // leader".
  void Watch(Callback cb);

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace zk
}  // namespace agora

#endif  // AGORA_ZOOKEEPER_MASTER_GROUP_H_
