// The masters' group in ZooKeeper, in Mesos's layout: each master holds an
// ephemeral sequential znode `<path>/json.info_NNNNNNNNNN` whose data is its
// MasterInfo as JSON; the leader is the member with the lowest sequence.
// MasterContender puts this master in the group and says when it leads or
// lost the lead; ZooKeeperMasterDetector follows the leader for agents,
// drivers, the CLI and standby masters. See docs/ha.md.
//
// Thread rule: both classes are thread-safe; their callbacks run on the
// ZooKeeper client's thread (or the detector's own loop) and must only post
// to the caller's loop.
#ifndef AGORA_ZOOKEEPER_MASTER_GROUP_H_
#define AGORA_ZOOKEEPER_MASTER_GROUP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
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
  std::string HttpAddress() const;  // "hostname-or-ip:http_port".
};

// Mesos's JSON: {"id","ip" (uint32, network order),"port","pid",
// "hostname","version","address":{"hostname","ip","port"}} plus
// "http_port".
std::string MasterRecordToJson(const MasterRecord& record);
// InvalidArgument naming what is missing or malformed.
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

  // `zk` must outlive the contender; `path` is the group (Url::path).
  MasterContender(ZooKeeper* zk, std::string path);
  ~MasterContender();  // Withdraw().

  // Creates the group path if missing, then this master's znode with
  // `record` as data, and watches the group. `cb` gets kElected once this
  // master leads and kLost (once, final) when it lost the lead or, not yet
  // leading, its znode or session. Transient failures (connection loss
  // before the znode exists) are retried.
  void Contend(const MasterRecord& record, Callback cb);
  // The full path of this master's znode once created ("" before); the
  // registry's writes check it (fencing).
  std::string znode() const;
  // Deletes the znode (best effort) and stops reporting.
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

  ZooKeeperMasterDetector(ZooKeeper* zk, std::string path);
  ~ZooKeeperMasterDetector();

  void Watch(Callback cb);

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace zk
}  // namespace agora

#endif  // AGORA_ZOOKEEPER_MASTER_GROUP_H_
