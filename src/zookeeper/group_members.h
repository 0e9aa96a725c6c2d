// Internal to the zookeeper module: what MasterContender and
// ZooKeeperMasterDetector share about the masters' group: member names in
// order, reading members' records (once each), and running ZooKeeper
// callbacks on a loop.
//
// Thread rule: MemberReader lives on one EventLoop (its methods and `done`
// callbacks run there); OnLoop's result may be called from any thread.
#ifndef AGORA_ZOOKEEPER_GROUP_MEMBERS_H_
#define AGORA_ZOOKEEPER_GROUP_MEMBERS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/event_loop.h"
#include "zookeeper/master_group.h"
#include "zookeeper/zookeeper.h"

namespace agora {
namespace zk {
namespace internal {

struct Member {
  int64_t sequence = 0;
  std::string name;  // "json.info_0000000007"
  // The session that owns the ephemeral znode; 0 until it has been read
  // (MemberReader fills it in what it finds).
  int64_t owner = 0;
};

// The json.info_ members among `children` (other names ignored), lowest
// sequence first.
std::vector<Member> SortedMembers(const std::vector<std::string>& children);

// A callable for a ZooKeeper callback (any thread): it posts
// `fn(self, args...)` to `loop`, run only if `weak` is still alive then.
// `loop` must outlive the object behind `weak`.
template <typename T, typename... Args>
std::function<void(Args...)> OnLoop(EventLoop* loop, std::weak_ptr<T> weak,
                                    std::function<void(T*, Args...)> fn) {
  return [loop, weak, fn](Args... args) {
    if (weak.expired()) return;
    loop->Post([weak, fn, args...]() mutable {
      if (std::shared_ptr<T> self = weak.lock()) {
        fn(self.get(), std::move(args)...);
      }
    });
  };
}

// Reads members' data as MasterRecords, each member once (a member's data
// never changes; a name is never reused while the group node lives).
class MemberReader : public std::enable_shared_from_this<MemberReader> {
 public:
  // A member and its record; nullopt for "none".
  using Found = std::optional<std::pair<Member, MasterRecord>>;

  // `zk` and `loop` must outlive the reader.
  MemberReader(ZooKeeper* zk, std::string path, EventLoop* loop);

  // Calls `done` with the first of `members` whose data parses. Members
  // that vanished are skipped; members whose data does not parse are skipped
  // with one WARNING each. A read failing otherwise (Unavailable,
  // PermissionDenied) ends the search with its status.
  void FindFirstValid(std::vector<Member> members,
                      std::function<void(absl::StatusOr<Found>)> done);
  // Forgets what was read (a new session, a group node deleted).
  void Forget();

 private:
  struct Search {
    std::vector<Member> members;
    size_t next = 0;
    uint64_t generation = 0;
    std::function<void(absl::StatusOr<Found>)> done;
  };
  void Next(std::shared_ptr<Search> search);
  void OnRead(std::shared_ptr<Search> search,
              absl::StatusOr<std::pair<std::string, Stat>> data);

  ZooKeeper* const zk_;
  const std::string path_;
  EventLoop* const loop_;
  uint64_t generation_ = 0;  // Bumped by Forget().
  struct Read {
    std::optional<MasterRecord> record;  // nullopt: data that does not parse.
    int64_t owner = 0;
  };
  std::map<std::string, Read> records_;  // By member name.
};

}  // namespace internal
}  // namespace zk
}  // namespace agora

#endif  // AGORA_ZOOKEEPER_GROUP_MEMBERS_H_
