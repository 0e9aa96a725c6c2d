// ZkEnsemble::Children: a synchronous read through ZooKeeper's C client, for
// tests only (daemons use the asynchronous src/zookeeper seam).
// The C client's header, by its own directory: "zookeeper/zookeeper.h"
// is the project's seam (src/zookeeper).
#include <zookeeper.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "fakes/zk_ensemble.h"

namespace agora::testing {
namespace {

// The read's session is closed right after it; its length does not matter.
constexpr absl::Duration kSessionTimeout = absl::Seconds(10);

void IgnoreClientLog(const char*) {}

}  // namespace

absl::StatusOr<std::vector<std::string>> ZkEnsemble::Children(
    const std::string& path, absl::Duration timeout) const {
  std::string hosts = ConnectString();
  zhandle_t* zh = zookeeper_init2(
      hosts.c_str(), nullptr,
      static_cast<int>(absl::ToInt64Milliseconds(kSessionTimeout)), nullptr,
      nullptr, 0, IgnoreClientLog);
  if (zh == nullptr) {
    return absl::InternalError(
        absl::StrCat("zookeeper client: cannot connect to '", hosts, "'"));
  }
  absl::Time deadline = absl::Now() + timeout;
  while (zoo_state(zh) != ZOO_CONNECTED_STATE && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (zoo_state(zh) != ZOO_CONNECTED_STATE) {
    zookeeper_close(zh);
    return absl::UnavailableError(
        absl::StrCat("zookeeper client: no connection to '", hosts, "' within ",
                     absl::FormatDuration(timeout)));
  }
  String_vector children{0, nullptr};
  int rc = zoo_get_children(zh, path.c_str(), 0, &children);
  std::vector<std::string> names;
  for (int i = 0; rc == ZOK && i < children.count; ++i) {
    names.emplace_back(children.data[i]);
  }
  if (rc == ZOK) deallocate_String_vector(&children);
  zookeeper_close(zh);
  if (rc == ZNONODE) {
    return absl::NotFoundError(absl::StrCat("zookeeper: no node '", path, "'"));
  }
  if (rc != ZOK) {
    return absl::InternalError(
        absl::StrCat("zookeeper: get children of '", path, "': ", zerror(rc)));
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace agora::testing
