// Builders for the scheduler Calls the driver sends. Pure functions: the
// framework id is filled in by the driver when the call is sent.
#ifndef AGORA_SCHEDULER_DRIVER_CALLS_H_
#define AGORA_SCHEDULER_DRIVER_CALLS_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mesos/v1/mesos.pb.h"
#include "mesos/v1/scheduler/scheduler.pb.h"

namespace agora::scheduler_driver {

using SchedulerCall = mesos::v1::scheduler::Call;

// SUBSCRIBE; with framework.id set it resubscribes that framework.
// `suppressed_roles` are the roles to subscribe suppressed in.
SchedulerCall SubscribeCall(const mesos::v1::FrameworkInfo& framework,
                            const std::set<std::string>& suppressed_roles = {});
// UPDATE_FRAMEWORK with the new FrameworkInfo and the full set of suppressed
// roles.
SchedulerCall UpdateFrameworkCall(
    const mesos::v1::FrameworkInfo& framework,
    const std::vector<std::string>& suppressed_roles);
SchedulerCall TeardownCall();

// ACCEPT with the given operations. The filters are always sent (an empty
// Filters means Mesos's default refuse_seconds of 5).
SchedulerCall AcceptCall(
    const std::vector<mesos::v1::OfferID>& offer_ids,
    const std::vector<mesos::v1::Offer::Operation>& operations,
    const mesos::v1::Filters& filters);
// ACCEPT with one LAUNCH of `tasks`; no tasks means a plain ACCEPT without
// operations, which declines the offers with `filters`.
SchedulerCall LaunchCall(const std::vector<mesos::v1::OfferID>& offer_ids,
                         const std::vector<mesos::v1::TaskInfo>& tasks,
                         const mesos::v1::Filters& filters);
SchedulerCall DeclineCall(const std::vector<mesos::v1::OfferID>& offer_ids,
                          const mesos::v1::Filters& filters);
SchedulerCall ReviveCall(const std::vector<std::string>& roles);
SchedulerCall SuppressCall(const std::vector<std::string>& roles);
SchedulerCall KillCall(const mesos::v1::TaskID& task_id);
// ACKNOWLEDGE of `status`. InvalidArgument when the status has no uuid
// (master-generated updates are not acknowledged) or no agent id.
absl::StatusOr<SchedulerCall> AcknowledgeCall(
    const mesos::v1::TaskStatus& status);
SchedulerCall ReconcileCall(const std::vector<mesos::v1::TaskStatus>& statuses);
SchedulerCall MessageCall(const mesos::v1::ExecutorID& executor_id,
                          const mesos::v1::AgentID& agent_id,
                          const std::string& data);

}  // namespace agora::scheduler_driver

#endif  // AGORA_SCHEDULER_DRIVER_CALLS_H_
