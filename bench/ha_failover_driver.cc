// One configuration of bench/ha_failover.sh: a real 3-server ZooKeeper
// ensemble (tests/fakes/zk_ensemble.h), two agora-masters, --agents real
// agents and a checkpointing framework (LongTaskFramework) with one long
// task per agent, all finding the leader through ZooKeeper. Each of --runs
// runs signals the leader (--signal) and measures, from the signal:
//   leader_s        another master is elected (its /state elected_time)
//   resubscribed_s  the framework's reregistered() callback
//   agents_s        every admitted agent is active again at the new leader
//   offer_s         the first offer from the new leader reaches the framework
// and counts admitted agents missing afterwards: `lost` (not active at the
// new leader by the deadline) and `unregistered` (absent from the registry
// in ZooKeeper). Then it plays the supervisor: restarts the old master as a
// standby and waits for it to join the group before the next run.
// Times come from the master's /state (elected_time, the agents'
// reregistered_time) and the framework's callbacks where they exist, else
// from polling (every 100 ms).
// Output: one tab-separated line per run on stdout; progress on stderr.
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "agora/scheduler.h"
#include "common/flags_util.h"
#include "common/status_macros.h"
#include "fakes/zk_ensemble.h"
#include "gflags/gflags.h"
#include "gtest/gtest.h"
#include "integration/cluster.h"
#include "integration/ha_framework.h"
#include "nlohmann/json.hpp"

DEFINE_int32(agents, 1, "Number of agents (one long task each)");
DEFINE_string(signal, "KILL", "Signal for the leader: KILL or TERM");
DEFINE_string(zk_session_timeout, "2secs", "The masters' ZooKeeper session");
DEFINE_int32(runs, 10, "Failovers to measure");
DEFINE_string(decline_for, "5secs",
              "The framework's decline filter (Mesos's default: 5secs)");

namespace agora::testing {
namespace {

constexpr char kGroup[] = "/agora";

struct Sample {
  std::optional<absl::Duration> leader, resubscribed, agents, offer;
  int lost = 0;
  int unregistered = 0;
};

std::optional<nlohmann::json> State(int http_port) {
  absl::StatusOr<std::string> body = HttpGet(http_port, "/state");
  if (!body.ok()) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(*body, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::set<std::string> ActiveAgents(const nlohmann::json& state) {
  std::set<std::string> ids;
  for (const nlohmann::json& a : state.value("slaves", nlohmann::json())) {
    if (a.value("active", false)) ids.insert(a.value("id", ""));
  }
  return ids;
}

int Missing(const std::set<std::string>& admitted,
            const std::set<std::string>& found) {
  int n = 0;
  for (const std::string& id : admitted) n += found.count(id) == 0 ? 1 : 0;
  return n;
}

// The master's own record of when something happened ("elected_time",
// an agent's "reregistered_time": seconds since the epoch) relative to
// `t0`, when it is there and not before `t0`.
std::optional<absl::Duration> Since(const nlohmann::json& time, absl::Time t0) {
  if (!time.is_number()) return std::nullopt;
  absl::Duration d =
      absl::Seconds(time.get<double>()) - (t0 - absl::UnixEpoch());
  if (d < absl::ZeroDuration()) return std::nullopt;
  return d;
}

// When the last of `admitted` reregistered, by the master's clock.
std::optional<absl::Duration> LastReregistered(
    const nlohmann::json& state, const std::set<std::string>& admitted,
    absl::Time t0) {
  std::optional<absl::Duration> last;
  for (const nlohmann::json& a : state.value("slaves", nlohmann::json())) {
    if (admitted.count(a.value("id", "")) == 0) continue;
    std::optional<absl::Duration> d =
        Since(a.value("reregistered_time", nlohmann::json()), t0);
    if (!d) return std::nullopt;
    if (!last || *d > *last) last = d;
  }
  return last;
}

std::string Seconds(const std::optional<absl::Duration>& d) {
  return d ? absl::StrFormat("%.3f", absl::ToDoubleSeconds(*d)) : "NA";
}

class Bench {
 public:
  Bench(ZkEnsemble* zk, LocalCluster* cluster, LongTaskFramework* framework,
        int signal, absl::Duration session)
      : zk_(zk),
        cluster_(cluster),
        framework_(framework),
        signal_(signal),
        deadline_(session + absl::Seconds(60)) {}

  // Waits until a master leads with every agent active and the framework
  // runs its task on each.
  absl::Status WaitReady() {
    bool ready = WaitFor(
        [&] {
          int leader = cluster_->Leader();
          if (leader < 0) return false;
          auto state = State(cluster_->master_ports(leader).http);
          return state &&
                 static_cast<int>(ActiveAgents(*state).size()) ==
                     FLAGS_agents &&
                 framework_->Running() == FLAGS_agents;
        },
        deadline_);
    if (ready) return absl::OkStatus();
    return absl::DeadlineExceededError(
        absl::StrCat("not ready: ", framework_->Running(), " tasks running"));
  }

  // One failover; an error when the cluster is not in a state to measure.
  absl::StatusOr<Sample> Run() {
    AGORA_RETURN_IF_ERROR(WaitReady());
    int old = cluster_->Leader();
    if (old < 0) return absl::UnavailableError("no leader before the run");
    std::optional<nlohmann::json> before =
        State(cluster_->master_ports(old).http);
    if (!before) return absl::UnavailableError("the leader's /state failed");
    std::set<std::string> admitted = ActiveAgents(*before);
    if (static_cast<int>(admitted.size()) != FLAGS_agents) {
      return absl::FailedPreconditionError(
          absl::StrCat(admitted.size(), " agents active before the run"));
    }
    absl::Time t0 = absl::Now();
    cluster_->master(old)->Signal(signal_);
    Sample sample;
    absl::StatusOr<int> leader = cluster_->WaitForLeader(deadline_, old);
    if (!leader.ok()) return leader.status();
    sample.leader = absl::Now() - t0;
    MeasureRecovery(*leader, admitted, t0, &sample);
    auto registry = zk_->Children(absl::StrCat(kGroup, "/registry/agents"));
    sample.unregistered =
        registry.ok() ? Missing(admitted, {registry->begin(), registry->end()})
                      : static_cast<int>(admitted.size());
    AGORA_RETURN_IF_ERROR(Supervise(old));
    return sample;
  }

 private:
  // Polls the new leader until every admitted agent is active again, the
  // framework resubscribed and an offer of the new leader arrived, or the
  // deadline passes (those not seen stay unset).
  void MeasureRecovery(int leader, const std::set<std::string>& admitted,
                       absl::Time t0, Sample* sample) {
    std::string master_id;
    std::set<std::string> active;
    // Every 100 ms: the values come from the master's and the framework's
    // own timestamps, so polling /state (18 ms of rendering at 100 agents)
    // more often would only load the new leader.
    for (absl::Time end = absl::Now() + deadline_; absl::Now() < end;
         absl::SleepFor(absl::Milliseconds(100))) {
      std::optional<nlohmann::json> state =
          State(cluster_->master_ports(leader).http);
      if (state) {
        master_id = state->value("id", "");
        active = ActiveAgents(*state);
        if (!sample->agents && Missing(admitted, active) == 0) {
          sample->agents =
              LastReregistered(*state, admitted, t0).value_or(absl::Now() - t0);
        }
        if (auto elected = Since((*state)["elected_time"], t0)) {
          sample->leader = std::min(*sample->leader, *elected);
        }
      }
      if (auto t = framework_->ReregisteredSince(t0)) {
        sample->resubscribed = *t - t0;
      }
      if (!master_id.empty()) {
        if (auto t = framework_->FirstOfferFrom(master_id, t0)) {
          sample->offer = *t - t0;
        }
      }
      if (sample->agents && sample->resubscribed && sample->offer) break;
    }
    sample->lost = Missing(admitted, active);
  }

  // Restarts the old master and waits until the group has two members
  // again (the old one's znode gone, the restarted one's created).
  absl::Status Supervise(int old) {
    absl::Status restarted = cluster_->RestartMaster(old);
    if (!restarted.ok()) return restarted;
    bool joined = WaitFor(
        [&] {
          auto members = zk_->Children(kGroup);
          if (!members.ok()) return false;
          int n = 0;
          for (const std::string& m : *members) {
            n += absl::StartsWith(m, "json.info_") ? 1 : 0;
          }
          return n == 2;
        },
        deadline_);
    if (!joined) {
      return absl::DeadlineExceededError("the restarted master did not join");
    }
    return absl::OkStatus();
  }

  ZkEnsemble* zk_;
  LocalCluster* cluster_;
  LongTaskFramework* framework_;
  int signal_;
  absl::Duration deadline_;
};

absl::StatusOr<std::string> MakeRoot() {
  std::string tmpl = ::testing::TempDir();
  if (tmpl.empty() || tmpl.back() != '/') tmpl += '/';
  tmpl += "agora-ha-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return absl::InternalError("mkdtemp failed");
  }
  return tmpl;
}

void PrintSample(int run, const Sample& s) {
  std::cout << FLAGS_agents << "\t" << FLAGS_signal << "\t"
            << FLAGS_zk_session_timeout << "\t" << run << "\t"
            << Seconds(s.leader) << "\t" << Seconds(s.resubscribed) << "\t"
            << Seconds(s.agents) << "\t" << Seconds(s.offer) << "\t" << s.lost
            << "\t" << s.unregistered << std::endl;
}

// Everything under `root`: the ensemble, the cluster, the framework, the
// runs.
absl::Status Measure(const std::string& root, int signal,
                     absl::Duration session, absl::Duration decline_for) {
  AGORA_ASSIGN_OR_RETURN(std::unique_ptr<ZkEnsemble> zk,
                         ZkEnsemble::Start(3, root + "/zk"));
  LocalCluster::Options options;
  options.zk = zk->Url(kGroup);
  options.masters = 2;
  options.agents = FLAGS_agents;
  options.agent_resources = "cpus:0.2;mem:64;disk:64";
  options.master_flags = {"--registry=zookeeper",
                          "--zk_session_timeout=" + FLAGS_zk_session_timeout};
  std::cerr << "starting 2 masters and " << FLAGS_agents << " agents\n";
  AGORA_ASSIGN_OR_RETURN(std::unique_ptr<LocalCluster> cluster,
                         LocalCluster::Start(options));
  LongTaskFramework framework(decline_for);
  AgoraSchedulerDriver driver(&framework, LongTaskFramework::Info(),
                              cluster->master_url());
  driver.start();
  Bench bench(zk.get(), cluster.get(), &framework, signal, session);
  absl::Status status;
  for (int run = 1; run <= FLAGS_runs; ++run) {
    absl::StatusOr<Sample> sample = bench.Run();
    if (!sample.ok()) {
      status = sample.status();
      break;
    }
    PrintSample(run, *sample);
  }
  driver.stop();
  driver.join();
  return status;
}

absl::Status Main() {
  int signal = FLAGS_signal == "KILL"   ? SIGKILL
               : FLAGS_signal == "TERM" ? SIGTERM
                                        : 0;
  if (signal == 0) return absl::InvalidArgumentError("--signal: KILL or TERM");
  AGORA_ASSIGN_OR_RETURN(absl::Duration session,
                         ParseDuration(FLAGS_zk_session_timeout));
  AGORA_ASSIGN_OR_RETURN(absl::Duration decline_for,
                         ParseDuration(FLAGS_decline_for));
  AGORA_ASSIGN_OR_RETURN(std::string root, MakeRoot());
  absl::Status status = Measure(root, signal, session, decline_for);
  if (std::getenv("AGORA_KEEP_TEST_DIRS") == nullptr) {
    std::string cmd = "rm -rf '" + root + "'";
    (void)std::system(cmd.c_str());
  }
  return status;
}

}  // namespace
}  // namespace agora::testing

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "one configuration of bench/ha_failover.sh; see the file's header");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  absl::Status status = agora::testing::Main();
  if (!status.ok()) {
    std::cerr << "ha_failover: " << status << std::endl;
    return 1;
  }
  return 0;
}
