// Registry throughput and master-loop latency: a real Master on a real loop
// thread over the local registry back-end (a file in a fresh temporary
// directory, fsynced on every write), with <agents> agents registering at
// once, after <preload> agents were already in the registry.
//
// Reports admissions per second (first message posted to last
// agent_registered sent), how many registry writes carried them (the
// Registrar batches what queues up during a write), how long the writes
// took, and the master loop's latency meanwhile: a probe posts a closure to
// the loop every millisecond and records how late it ran. A write that ran
// on the loop would show up as a latency as long as the write.
//
//   agora-registry-bench [--agents=N] [--preload=N] [--dir=PATH]
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/event_loop.h"
#include "common/resources.h"
#include "common/resources_proto.h"
#include "glog/logging.h"
#include "master/master.h"
#include "master/registry.h"

namespace agora {
namespace {

// Counts agent_registered messages.
class CountingLink : public AgentConnection {
 public:
  CountingLink(uint64_t id, std::atomic<int>* registered)
      : id_(id), registered_(registered) {}
  uint64_t id() const override { return id_; }
  const std::string& peer() const override { return peer_; }
  bool Send(internal::MasterMessage message) override {
    if (message.has_agent_registered()) registered_->fetch_add(1);
    return true;
  }
  void Close(const absl::Status&) override {}

 private:
  const uint64_t id_;
  std::atomic<int>* const registered_;
  const std::string peer_ = "ipv4:10.0.0.1:5051";
};

// Times every write of the back-end it wraps.
class TimedRegistry : public Registry {
 public:
  explicit TimedRegistry(std::unique_ptr<Registry> inner)
      : inner_(std::move(inner)) {}

  void Recover(RecoverDone done) override { inner_->Recover(std::move(done)); }
  void Apply(std::vector<RegistryChange> changes, Done done) override {
    const absl::Time start = absl::Now();
    const size_t n = changes.size();
    inner_->Apply(std::move(changes), [this, start, n, done](absl::Status s) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        writes_.push_back(absl::Now() - start);
        records_ += n;
      }
      done(s);
    });
  }
  std::string Describe() const override { return inner_->Describe(); }

  std::vector<absl::Duration> writes() {
    std::lock_guard<std::mutex> lock(mu_);
    return writes_;
  }
  size_t records() {
    std::lock_guard<std::mutex> lock(mu_);
    return records_;
  }

 private:
  const std::unique_ptr<Registry> inner_;
  std::mutex mu_;
  std::vector<absl::Duration> writes_;
  size_t records_ = 0;
};

mesos::v1::AgentInfo AgentInfoFor(int i) {
  mesos::v1::AgentInfo info;
  info.set_hostname(absl::StrCat("agent-", i, ".bench.example.org"));
  info.set_port(5051);
  *info.mutable_resources() = ToProto(
      *Resources::Parse("cpus:32;mem:131072;disk:1000000;ports:[31000-32000]"));
  auto* attribute = info.add_attributes();
  attribute->set_name("rack");
  attribute->set_type(mesos::v1::Value::TEXT);
  attribute->mutable_text()->set_value(absl::StrCat("rack-", i % 40));
  return info;
}

// Writes `count` admitted agents into the registry file at `path`.
void Preload(const std::string& path, int count) {
  if (count == 0) return;
  auto registry = NewLocalRegistry(path);
  std::promise<void> recovered;
  registry->Recover([&](absl::StatusOr<internal::Registry> s) {
    CHECK(s.ok()) << s.status();
    recovered.set_value();
  });
  recovered.get_future().wait();
  std::vector<RegistryChange> changes;
  for (int i = 0; i < count; ++i) {
    internal::Registry::Agent agent;
    *agent.mutable_info() = AgentInfoFor(1000000 + i);
    agent.mutable_info()->mutable_id()->set_value(absl::StrCat("preload-S", i));
    changes.push_back({RecordKind::kAgent, agent.info().id().value(),
                       agent.SerializeAsString()});
  }
  std::promise<absl::Status> written;
  registry->Apply(std::move(changes),
                  [&](absl::Status s) { written.set_value(s); });
  CHECK(written.get_future().get().ok());
}

absl::Duration Percentile(std::vector<absl::Duration> v, double p) {
  if (v.empty()) return absl::ZeroDuration();
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

std::string Ms(absl::Duration d) {
  return absl::StrFormat("%.2f ms", absl::ToDoubleMilliseconds(d));
}

int Run(int agents, int preload, const std::string& dir) {
  const std::string path = dir + "/registry.bin";
  Preload(path, preload);
  auto timed = std::make_unique<TimedRegistry>(NewLocalRegistry(path));
  TimedRegistry* registry = timed.get();
  EventLoop loop("master");
  MasterOptions options;
  options.registry = RegistryKind::kLocal;
  options.work_dir = dir;
  options.agent_ping_timeout = absl::Minutes(10);  // No pings in the run.
  options.allocation_interval = absl::Seconds(1);
  Master master(options, &loop, std::move(timed));
  CHECK(master.Recover().ok());
  master.Start("10.0.0.2", 5050);
  loop.Start();

  // The probe: a closure posted every millisecond, and how late it ran.
  std::mutex probe_mu;
  std::vector<absl::Duration> lateness;
  std::atomic<bool> probing{true};
  EventLoop probe("probe");
  std::function<void()> tick = [&] {
    if (!probing) return;
    const absl::Time posted = absl::Now();
    loop.Post([&, posted] {
      std::lock_guard<std::mutex> lock(probe_mu);
      lateness.push_back(absl::Now() - posted);
    });
    probe.PostAfter(absl::Milliseconds(1), tick);
  };
  probe.Start();
  probe.Post(tick);

  std::atomic<int> registered{0};
  std::vector<std::shared_ptr<CountingLink>> links;
  const absl::Time start = absl::Now();
  for (int i = 0; i < agents; ++i) {
    auto link = std::make_shared<CountingLink>(i + 1, &registered);
    links.push_back(link);
    internal::AgentMessage message;
    *message.mutable_register_agent()->mutable_agent_info() = AgentInfoFor(i);
    loop.Post(
        [&master, link, message] { master.OnAgentMessage(link, message); });
  }
  while (registered.load() < agents) absl::SleepFor(absl::Microseconds(200));
  const absl::Duration elapsed = absl::Now() - start;
  probing = false;
  probe.Stop();
  loop.Post([&master] { master.Shutdown(); });
  loop.Stop();

  std::vector<absl::Duration> writes = registry->writes();
  absl::Duration total_write;
  for (absl::Duration d : writes) total_write += d;
  std::lock_guard<std::mutex> lock(probe_mu);
  std::cout << "agents " << agents << ", preloaded " << preload
            << ", registry file " << std::filesystem::file_size(path) / 1024
            << " KiB at the end\n"
            << "  admissions/s "
            << absl::StrFormat("%.0f", agents / absl::ToDoubleSeconds(elapsed))
            << " (" << Ms(elapsed) << " for all)\n"
            << "  registry writes " << writes.size() << ", records "
            << registry->records() << " (mean "
            << absl::StrFormat("%.1f",
                               static_cast<double>(registry->records()) /
                                   std::max<size_t>(1, writes.size()))
            << " per write); write time mean "
            << Ms(writes.empty()
                      ? absl::ZeroDuration()
                      : total_write / static_cast<int64_t>(writes.size()))
            << ", max " << Ms(Percentile(writes, 1.0)) << "\n"
            << "  loop latency over " << lateness.size() << " probes: p50 "
            << Ms(Percentile(lateness, 0.5)) << ", p99 "
            << Ms(Percentile(lateness, 0.99)) << ", max "
            << Ms(Percentile(lateness, 1.0)) << "\n";
  return 0;
}

}  // namespace
}  // namespace agora

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_minloglevel = 2;  // The master logs every admission at INFO.
  int agents = 2000;
  int preload = 0;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    auto value = [&](absl::string_view flag) -> std::optional<std::string> {
      if (!absl::ConsumePrefix(&arg, flag)) return std::nullopt;
      return std::string(arg);
    };
    if (auto v = value("--agents=")) {
      CHECK(absl::SimpleAtoi(*v, &agents));
    } else if (auto p = value("--preload=")) {
      CHECK(absl::SimpleAtoi(*p, &preload));
    } else if (auto d = value("--dir=")) {
      dir = *d;
    } else {
      std::cerr << "usage: " << argv[0]
                << " [--agents=N] [--preload=N] [--dir=PATH]\n";
      return 2;
    }
  }
  if (dir.empty()) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "registry-bench-XXXXXX")
            .string();
    CHECK(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
  }
  return agora::Run(agents, preload, dir);
}
