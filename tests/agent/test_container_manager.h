// A ContainerManager for unit tests: sandboxes under `work_dir`, no user
// switch, 4 cpus and 4096 MB, callbacks that accept every update and drop
// the rest. The executor path does not exist: the launcher is a fake.
#ifndef AGORA_TESTS_AGENT_TEST_CONTAINER_MANAGER_H_
#define AGORA_TESTS_AGENT_TEST_CONTAINER_MANAGER_H_

#include <memory>
#include <string>

#include "agent/container_manager.h"

namespace agora {

inline std::unique_ptr<ContainerManager> MakeTestContainerManager(
    const std::string& work_dir, EventLoop* loop, Launcher* launcher,
    MetricsRegistry* metrics) {
  ContainerManager::Options o;
  o.work_dir = work_dir;
  o.executor_path = "/nonexistent/agora-executor";
  o.switch_user = false;
  o.total_cpus = 4;
  o.total_mem_mb = 4096;
  return std::make_unique<ContainerManager>(
      o, loop, launcher, metrics,
      ContainerManager::Callbacks{
          [](const mesos::v1::FrameworkID&, const mesos::v1::TaskStatus&,
             const std::string&,
             std::function<void(const absl::Status&)> on_checkpointed) {
            if (on_checkpointed) on_checkpointed(absl::OkStatus());
            return absl::StatusOr<bool>(true);
          },
          [](const agora::internal::ExecutorExited&) {},
          [](const agora::internal::ExecutorToFramework&) {}, nullptr});
}

}  // namespace agora

#endif  // AGORA_TESTS_AGENT_TEST_CONTAINER_MANAGER_H_
