#include "zookeeper/leader_detector.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace agora {

absl::StatusOr<std::unique_ptr<LeaderDetector>> CreateLeaderDetector(
    absl::string_view master) {
  if (absl::StartsWith(master, "zk://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--master='", master,
        "': ZooKeeper master detection is not available in this build; "
        "give the master as host:port"));
  }
  size_t colon = master.rfind(':');
  int port = 0;
  if (master.empty() || colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(master.substr(colon + 1), &port) || port <= 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--master='", master,
                     "': expected host:port (for example 127.0.0.1:5050)"));
  }
  return std::make_unique<StandaloneDetector>(std::string(master));
}

}  // namespace agora
