// Master: ACCEPT — offer validation, task validation, launch; RESERVE and
// UNRESERVE are in master_operations.cc.
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "master/master.h"

namespace agora {

using mesos::v1::Offer;
using mesos::v1::TaskInfo;

absl::Status Master::Accept(Framework* framework,
                            const SchedulerCall::Accept& accept) {
  // Request errors first: they leave every offer untouched.
  for (const Offer::Operation& operation : accept.operations()) {
    if (operation.type() != Offer::Operation::LAUNCH &&
        operation.type() != Offer::Operation::RESERVE &&
        operation.type() != Offer::Operation::UNRESERVE) {
      return absl::UnimplementedError(absl::StrCat(
          "accept: operation ", Offer::Operation::Type_Name(operation.type()),
          " is not supported by this master"));
    }
  }
  for (const mesos::v1::OfferID& id : accept.offer_ids()) {
    OutstandingOffer* offer = offers_.Find(id.value());
    if (offer != nullptr && offer->framework != framework->id) {
      return absl::InvalidArgumentError(absl::StrCat(
          "accept: offer ", id.value(), " belongs to another framework"));
    }
  }
  std::optional<std::string> error =
      accept.offer_ids().empty() ? std::optional<std::string>("no offers given")
                                 : ValidateOffers(accept.offer_ids());
  if (error.has_value()) {
    DropLaunches(framework, accept, *error);
  } else {
    LaunchTasks(framework, accept);
  }
  return absl::OkStatus();
}

std::optional<std::string> Master::ValidateOffers(
    const google::protobuf::RepeatedPtrField<mesos::v1::OfferID>& ids) {
  std::set<std::string> seen;
  const OutstandingOffer* first = nullptr;
  for (const mesos::v1::OfferID& id : ids) {
    if (!seen.insert(id.value()).second) {
      return absl::StrCat("offer ", id.value(), " appears more than once");
    }
    const OutstandingOffer* offer = offers_.Find(id.value());
    if (offer == nullptr) {
      return absl::StrCat("offer ", id.value(), " is no longer valid");
    }
    if (first == nullptr) {
      first = offer;
    } else if (offer->agent != first->agent) {
      return absl::StrCat("offers ", first->id, " and ", offer->id,
                          " are on different agents");
    } else if (offer->role != first->role) {
      return absl::StrCat("offers ", first->id, " and ", offer->id,
                          " are allocated to different roles ('", first->role,
                          "' and '", offer->role, "')");
    }
  }
  const Agent* agent = agents_.Find(first->agent);
  if (agent == nullptr || !agent->connected()) {
    return absl::StrCat("agent ", first->agent.value(), " of offer ", first->id,
                        " is not connected");
  }
  return std::nullopt;
}

void Master::DropLaunches(Framework* framework,
                          const SchedulerCall::Accept& accept,
                          const std::string& error) {
  LOG(WARNING) << "ACCEPT of framework " << framework->id
               << " used invalid offers: " << error;
  // The framework's offers named in the call are used up (Mesos discards
  // them): their resources return without a filter.
  for (const mesos::v1::OfferID& id : accept.offer_ids()) {
    RescindOffer(id.value(), /*notify=*/false);
  }
  const mesos::v1::TaskState state = framework->partition_aware
                                         ? mesos::v1::TASK_DROPPED
                                         : mesos::v1::TASK_LOST;
  for (const Offer::Operation& operation : accept.operations()) {
    for (const TaskInfo& task : operation.launch().task_infos()) {
      SendUpdate(
          *framework,
          MasterStatus(task.task_id().value(), task.agent_id().value(), state,
                       mesos::v1::TaskStatus::REASON_INVALID_OFFERS,
                       "task launched with invalid offers: " + error));
      CountTerminal(state);
    }
  }
}

TaskLaunchContext Master::TakeOffersForLaunch(
    Framework* framework, const SchedulerCall::Accept& accept) {
  TaskLaunchContext context;
  for (const mesos::v1::OfferID& id : accept.offer_ids()) {
    std::optional<OutstandingOffer> offer = TakeOffer(id.value());
    context.available += offer->resources;
    context.agent = offer->agent;
    context.role = offer->role;
  }
  context.framework = framework->id;
  context.task_id_in_use = [this, id = framework->id](const std::string& task) {
    return tasks_.Find(id, task) != nullptr;
  };
  context.find_executor =
      [this, id = framework->id, agent = context.agent](
          const std::string& executor) -> const mesos::v1::ExecutorInfo* {
    const TrackedExecutor* e = tasks_.FindExecutor(agent, id, executor);
    return e == nullptr ? nullptr : &e->info;
  };
  return context;
}

void Master::LaunchTasks(Framework* framework,
                         const SchedulerCall::Accept& accept) {
  TaskLaunchContext context = TakeOffersForLaunch(framework, accept);
  Agent* agent = agents_.Find(context.agent);
  for (const Offer::Operation& operation : accept.operations()) {
    if (operation.type() != Offer::Operation::LAUNCH) {
      ApplyOfferOperation(framework, agent, operation, &context);
      continue;
    }
    for (const TaskInfo& task : operation.launch().task_infos()) {
      absl::StatusOr<ValidatedTask> launch = ValidateTask(task, context);
      if (!launch.ok()) {
        LOG(WARNING) << "Refusing task " << task.task_id().value()
                     << " of framework " << framework->id << ": "
                     << launch.status().message();
        SendUpdate(*framework,
                   MasterStatus(task.task_id().value(), task.agent_id().value(),
                                mesos::v1::TASK_ERROR,
                                mesos::v1::TaskStatus::REASON_TASK_INVALID,
                                std::string(launch.status().message())));
        CountTerminal(mesos::v1::TASK_ERROR);
        continue;
      }
      context.available -= launch->task_resources + launch->executor_resources;
      LaunchTask(framework, agent, *std::move(launch));
    }
  }
  if (!context.available.empty()) {
    allocator_.RecoverResources(
        framework->id, context.agent, context.available,
        RefuseDuration(accept.has_filters() ? &accept.filters() : nullptr),
        loop_->Now());
  }
}

void Master::LaunchTask(Framework* framework, Agent* agent,
                        ValidatedTask launch) {
  const TaskInfo& info = launch.task;
  mesos::v1::Task task;
  task.set_name(info.name());
  *task.mutable_task_id() = info.task_id();
  task.mutable_framework_id()->set_value(framework->id.value());
  if (info.has_executor()) {
    *task.mutable_executor_id() = info.executor().executor_id();
  }
  task.mutable_agent_id()->set_value(agent->id.value());
  task.set_state(mesos::v1::TASK_STAGING);
  *task.mutable_resources() = info.resources();
  if (info.has_labels()) *task.mutable_labels() = info.labels();
  if (info.has_kill_policy()) *task.mutable_kill_policy() = info.kill_policy();
  *task.mutable_limits() = info.limits();
  task.set_user(info.command().has_user() ? info.command().user()
                                          : framework->info.user());
  if (launch.new_executor) {
    tasks_.AddExecutor(agent->id, framework->id, info.executor(),
                       launch.executor_resources);
  }
  tasks_.Add(framework->id, agent->id, std::move(task), launch.task_resources);
  LOG(INFO) << "Launching task " << info.task_id().value() << " of framework "
            << framework->id << " with " << launch.task_resources
            << " on agent " << agent->id;

  const std::string task_id = info.task_id().value();
  internal::MasterMessage message;
  internal::RunTask* run = message.mutable_run_task();
  *run->mutable_framework() = framework->info;
  *run->mutable_task() = std::move(launch.task);
  if (!agent->Send(std::move(message))) {
    LOG(WARNING) << "Could not queue run_task for task " << task_id
                 << " on agent " << agent->id;
  }
}

}  // namespace agora
