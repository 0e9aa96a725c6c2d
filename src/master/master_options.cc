#include "master/master_options.h"

#include "absl/strings/str_cat.h"

namespace agora {

const char* RegistryKindName(RegistryKind kind) {
  switch (kind) {
    case RegistryKind::kLocal:
      return "local";
    case RegistryKind::kInMemory:
      return "in_memory";
    case RegistryKind::kZooKeeper:
      return "zookeeper";
  }
  return "unknown";
}

absl::Status ValidateMasterOptions(const MasterOptions& options) {
  auto bad = [](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("master options: ", what));
  };
  if (options.port < 0 || options.port > 65535) return bad("port out of range");
  if (options.http_port < 0 || options.http_port > 65535) {
    return bad("http_port out of range");
  }
  if (options.allocation_interval <= absl::ZeroDuration()) {
    return bad("allocation_interval must be positive");
  }
  if (options.agent_ping_timeout <= absl::ZeroDuration()) {
    return bad("agent_ping_timeout must be positive");
  }
  if (options.agent_reregister_timeout <= absl::ZeroDuration()) {
    return bad("agent_reregister_timeout must be positive");
  }
  if (options.max_agent_ping_timeouts < 1) {
    return bad("max_agent_ping_timeouts must be at least 1");
  }
  if (options.offer_timeout.has_value() &&
      *options.offer_timeout <= absl::ZeroDuration()) {
    return bad("offer_timeout must be positive");
  }
  if (options.heartbeat_interval <= absl::ZeroDuration()) {
    return bad("heartbeat_interval must be positive");
  }
  if (options.registry == RegistryKind::kZooKeeper && !options.zk.has_value()) {
    return bad("--registry=zookeeper needs --zk");
  }
  if (options.zk.has_value() &&
      options.zk_session_timeout < absl::Milliseconds(100)) {
    return bad("--zk_session_timeout must be at least 100ms");
  }
  if (options.registry_store_timeout <= absl::ZeroDuration()) {
    return bad("registry_store_timeout must be positive");
  }
  if (options.registry_gc_interval <= absl::ZeroDuration()) {
    return bad("registry_gc_interval must be positive");
  }
  if (options.registry_max_agent_age <= absl::ZeroDuration()) {
    return bad("registry_max_agent_age must be positive");
  }
  if (options.registry == RegistryKind::kLocal && options.work_dir.empty()) {
    return bad("--work_dir is required with --registry=local");
  }
  if (options.max_framework_events_queued == 0 ||
      options.max_agent_messages_queued == 0) {
    return bad("queue bounds must be positive");
  }
  return absl::OkStatus();
}

}  // namespace agora
