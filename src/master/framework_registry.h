// FrameworkRegistry: the frameworks the master knows — subscribed ones, ones
// whose stream is gone (kept with their tasks) and ones recovered from agent
// reports — plus a bounded list of completed (torn down) frameworks. Each
// Framework holds its subscription: the event stream and its stream id.
//
// Thread rule: master loop only (EventStream::Send itself is thread-safe).
#ifndef AGORA_MASTER_FRAMEWORK_REGISTRY_H_
#define AGORA_MASTER_FRAMEWORK_REGISTRY_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/event_loop.h"
#include "common/event_stream.h"
#include "common/resources.h"
#include "common/strong_id.h"
#include "mesos/v1/mesos.pb.h"
#include "mesos/v1/scheduler/scheduler.pb.h"

namespace agora {

using SchedulerEvent = mesos::v1::scheduler::Event;
// Raw on the wire: the Subscribe rpc parses its own request.
using SchedulerStream = EventStream<SchedulerEvent, grpc::ByteBuffer>;

struct Framework {
  FrameworkId id;
  mesos::v1::FrameworkInfo info;  // With `id` set.
  std::set<std::string> roles;
  // Roles in which the framework asked for no offers (SUPPRESS, or
  // suppressed_roles of SUBSCRIBE / UPDATE_FRAMEWORK); a subset of `roles`.
  std::set<std::string> suppressed_roles;
  bool partition_aware = false;
  // Known only from an agent's reregistration; never subscribed here.
  bool recovered = false;

  // The subscription; null while disconnected.
  std::shared_ptr<SchedulerStream> stream;
  std::string stream_id;
  EventLoop::TimerId heartbeat_timer = 0;
  // Armed while disconnected: removes the framework after
  // FrameworkInfo.failover_timeout unless it resubscribes first.
  EventLoop::TimerId failover_timer = 0;
  // Counts subscriptions; a failover timer only fires for the epoch it was
  // armed in.
  uint64_t epoch = 0;

  absl::Time registered_time;
  absl::Time reregistered_time;
  absl::Time unregistered_time;

  bool connected() const { return stream != nullptr; }
  // Queues `event` on the stream; false when disconnected or the stream
  // ended (an overflowing stream is closed by EventStream itself).
  bool Send(SchedulerEvent event) const;
};

// What remains of a torn-down framework, for /state.
struct CompletedFramework {
  mesos::v1::FrameworkInfo info;
  absl::Time registered_time;
  absl::Time unregistered_time;
  std::vector<mesos::v1::Task> tasks;
};

// The roles of `info`: FrameworkInfo.roles when non-empty, otherwise the
// single (deprecated) role, "*" by default. InvalidArgument naming the role
// when one is not a valid role name.
absl::StatusOr<std::set<std::string>> FrameworkRoles(
    const mesos::v1::FrameworkInfo& info);

bool HasCapability(const mesos::v1::FrameworkInfo& info,
                   mesos::v1::FrameworkInfo::Capability::Type type);

// Everything about `info` a master checks on SUBSCRIBE and
// UPDATE_FRAMEWORK besides its id: roles (as FrameworkRoles), a finite
// failover_timeout and well-formed offer_filters. InvalidArgument naming
// the field.
absl::Status ValidateFrameworkInfo(const mesos::v1::FrameworkInfo& info);

// FrameworkInfo.offer_filters as the allocator takes them: per role, the
// minimum allocatable quantity sets (roles without min_allocatable_resources
// are left out).
std::map<std::string, std::vector<Resources>> MinAllocatableOf(
    const mesos::v1::FrameworkInfo& info);

class FrameworkRegistry {
 public:
  FrameworkRegistry(std::string master_id, size_t max_completed);

  // "<master_id>-0000", "<master_id>-0001", ...
  FrameworkId NextId();

  // Adds a framework (`info.id` is set to `id`). `id` must not be known.
  Framework* Add(const FrameworkId& id, mesos::v1::FrameworkInfo info,
                 std::set<std::string> roles);
  Framework* Find(const FrameworkId& id) const;
  // The framework whose current subscription has `stream_id`, if any.
  Framework* FindByStream(const std::string& stream_id) const;

  // Removes `id` into the completed list (oldest dropped beyond the bound).
  void Complete(const FrameworkId& id, std::vector<mesos::v1::Task> tasks,
                absl::Time now);
  bool IsCompleted(const FrameworkId& id) const;

  const std::map<FrameworkId, std::unique_ptr<Framework>>& all() const {
    return frameworks_;
  }
  const std::deque<CompletedFramework>& completed() const { return completed_; }

 private:
  const std::string master_id_;
  const size_t max_completed_;
  uint64_t next_id_ = 0;
  std::map<FrameworkId, std::unique_ptr<Framework>> frameworks_;
  std::deque<CompletedFramework> completed_;
  std::set<FrameworkId> completed_ids_;
};

}  // namespace agora

#endif  // AGORA_MASTER_FRAMEWORK_REGISTRY_H_
