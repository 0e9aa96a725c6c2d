// Registry throughput and master-loop latency: a real Master on a real loop
// thread over the local registry back-end (a file in a fresh temporary
// directory, fsynced on every write), with <agents> agents registering,
// after <preload> agents were already in the registry.
//
// Registrations arrive at --rate per second (0: all posted at once), each
// as its own closure on the master's loop, as the gRPC edge posts them.
// Reports admissions per second (first message posted to last
// agent_registered sent), how many registry writes carried them (the
// Registrar batches what queues up during a write), how long the writes
// took, and the master loop's latency meanwhile: a probe posts a closure to
// the loop every millisecond and records how late it ran. A write that ran
// on the loop shows up as a latency as long as the write: --blocking makes
// every write wait on the loop (what the master did before the registry
// became asynchronous), for comparison; --in_memory uses the in-memory
// back-end instead (no I/O: the loop's own work, for the baseline);
// --zk=zk://host:port/path uses the ZooKeeper back-end on a real server
// (the bench creates its own election znode under the path as the fence,
// as an elected master has; the registry's znodes are deleted first).
//
//   agora-registry-bench [--agents=N] [--preload=N] [--rate=N] [--blocking]
//                        [--in_memory] [--zk=URL] [--dir=PATH]
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
#include "master/zookeeper_registry.h"
#include "zookeeper/zookeeper.h"

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
  size_t max_apply_bytes() const override { return inner_->max_apply_bytes(); }
  size_t ChangeBytes(const RegistryChange& change) const override {
    return inner_->ChangeBytes(change);
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

// Waits for each write of the back-end it wraps inside Apply(): the write
// blocks the caller (the master's loop), as synchronous writes did.
class BlockingRegistry : public Registry {
 public:
  explicit BlockingRegistry(std::unique_ptr<Registry> inner)
      : inner_(std::move(inner)) {}
  void Recover(RecoverDone done) override { inner_->Recover(std::move(done)); }
  void Apply(std::vector<RegistryChange> changes, Done done) override {
    std::promise<absl::Status> written;
    inner_->Apply(std::move(changes),
                  [&written](absl::Status s) { written.set_value(s); });
    done(written.get_future().get());
  }
  size_t max_apply_bytes() const override { return inner_->max_apply_bytes(); }
  size_t ChangeBytes(const RegistryChange& change) const override {
    return inner_->ChangeBytes(change);
  }
  std::string Describe() const override { return inner_->Describe(); }

 private:
  const std::unique_ptr<Registry> inner_;
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

// Writes `count` admitted agents into `registry` (before the master
// recovers it).
void Preload(Registry* registry, int count) {
  if (count == 0) return;
  std::promise<void> recovered;
  registry->Recover([&](absl::StatusOr<internal::Registry> s) {
    CHECK(s.ok()) << s.status();
    recovered.set_value();
  });
  recovered.get_future().wait();
  constexpr int kChunk = 1000;  // Under ZooKeeper's request limit.
  for (int first = 0; first < count; first += kChunk) {
    std::vector<RegistryChange> changes;
    for (int i = first; i < std::min(count, first + kChunk); ++i) {
      internal::Registry::Agent agent;
      *agent.mutable_info() = AgentInfoFor(1000000 + i);
      agent.mutable_info()->mutable_id()->set_value(
          absl::StrCat("preload-S", i));
      changes.push_back({RecordKind::kAgent, agent.info().id().value(),
                         agent.SerializeAsString()});
    }
    std::promise<absl::Status> written;
    registry->Apply(std::move(changes),
                    [&](absl::Status s) { written.set_value(s); });
    absl::Status status = written.get_future().get();
    CHECK(status.ok()) << status;
  }
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

struct Config {
  int agents = 2000;
  int preload = 0;
  int rate = 2000;  // Registrations per second; 0: all at once.
  bool blocking = false;
  bool in_memory = false;
  std::string zk;  // A zk:// URL: the ZooKeeper back-end.
  std::string dir;
};

// Waits for `start`'s callback (given to it) and returns its value.
template <typename T>
T Wait(const std::function<void(std::function<void(T)>)>& start) {
  auto promise = std::make_shared<std::promise<T>>();
  start([promise](T value) { promise->set_value(std::move(value)); });
  return promise->get_future().get();
}

// Deletes `path` and everything below it.
void DeleteTree(zk::ZooKeeper* zk, const std::string& path) {
  auto children = Wait<absl::StatusOr<std::vector<std::string>>>(
      [&](auto done) { zk->GetChildren(path, nullptr, done); });
  if (!children.ok()) return;  // Absent.
  for (const std::string& child : *children) DeleteTree(zk, path + "/" + child);
  absl::Status deleted =
      Wait<absl::Status>([&](auto done) { zk->Delete(path, -1, done); });
  CHECK(deleted.ok()) << deleted;
}

// A connected session to `url`, a clean registry below its path and this
// bench's election znode (the fence); the back-end over them.
struct ZooKeeperSetup {
  std::unique_ptr<zk::ZooKeeper> session;
  std::unique_ptr<Registry> registry;
};

ZooKeeperSetup ConnectZooKeeper(const std::string& value) {
  absl::StatusOr<zk::Url> url = zk::ParseUrl(value);
  CHECK(url.ok()) << url.status();
  auto session = zk::NewZooKeeper(*url, absl::Seconds(10));
  CHECK(session.ok()) << session.status();
  zk::ZooKeeper* zk = session->get();
  auto connected = std::make_shared<std::promise<void>>();
  auto once = std::make_shared<std::once_flag>();
  zk->OnSessionEvent([connected, once](zk::SessionState state) {
    if (state == zk::SessionState::kConnected) {
      std::call_once(*once, [&] { connected->set_value(); });
    }
  });
  if (zk->state() != zk::SessionState::kConnected) {
    connected->get_future().wait();
  }
  DeleteTree(zk, url->path + "/registry");
  CHECK(Wait<absl::Status>([&](auto done) {
          zk->CreateRecursive(url->path, done);
        }).ok());
  auto fence = Wait<absl::StatusOr<std::string>>([&](auto done) {
    zk->Create(url->path + "/json.info_", "{}", zk::kEphemeral | zk::kSequence,
               done);
  });
  CHECK(fence.ok()) << fence.status();
  ZooKeeperSetup out;
  out.registry = NewZooKeeperRegistry(zk, url->path, *fence);
  out.session = *std::move(session);
  return out;
}

int Run(const Config& config) {
  const int agents = config.agents;
  const std::string path = config.dir + "/registry.bin";
  ZooKeeperSetup zookeeper;
  if (!config.zk.empty()) zookeeper = ConnectZooKeeper(config.zk);
  std::unique_ptr<Registry> local = !config.zk.empty()
                                        ? std::move(zookeeper.registry)
                                    : config.in_memory ? NewInMemoryRegistry()
                                                       : NewLocalRegistry(path);
  Preload(local.get(), config.preload);
  if (config.blocking) {
    local = std::make_unique<BlockingRegistry>(std::move(local));
  }
  auto timed = std::make_unique<TimedRegistry>(std::move(local));
  TimedRegistry* registry = timed.get();
  EventLoop loop("master");
  MasterOptions options;
  options.registry = RegistryKind::kLocal;
  options.work_dir = config.dir;
  options.agent_ping_timeout = absl::Minutes(10);  // No pings in the run.
  options.allocation_interval = absl::Seconds(1);
  Master master(options, &loop, std::move(timed));
  CHECK(master.Recover().ok());
  master.SetAddress("10.0.0.2", 5050);
  master.Start();
  loop.Start();

  std::atomic<int> registered{0};
  std::vector<std::shared_ptr<CountingLink>> links;
  for (int i = 0; i < agents; ++i) {
    links.push_back(std::make_shared<CountingLink>(i + 1, &registered));
  }
  int sent = 0;
  auto send = [&](int upto) {
    for (; sent < upto; ++sent) {
      internal::AgentMessage message;
      *message.mutable_register_agent()->mutable_agent_info() =
          AgentInfoFor(sent);
      std::shared_ptr<CountingLink> link = links[sent];
      loop.Post(
          [&master, link, message] { master.OnAgentMessage(link, message); });
    }
  };

  // The probe, every millisecond: posts the registrations now due, and a
  // closure that records how late the loop ran it.
  std::mutex probe_mu;
  std::vector<absl::Duration> lateness;
  std::atomic<bool> probing{true};
  EventLoop probe("probe");
  const absl::Time start = absl::Now();
  std::function<void()> tick = [&] {
    if (!probing) return;
    const absl::Time posted = absl::Now();
    if (config.rate > 0) {
      send(std::min<int>(
          agents, static_cast<int>(absl::ToDoubleSeconds(posted - start) *
                                   config.rate)));
    }
    loop.Post([&, posted] {
      std::lock_guard<std::mutex> lock(probe_mu);
      lateness.push_back(absl::Now() - posted);
    });
    probe.PostAfter(absl::Milliseconds(1), tick);
  };
  if (config.rate == 0) send(agents);
  probe.Start();
  probe.Post(tick);
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
  std::cout << "agents " << agents << " at "
            << (config.rate > 0 ? absl::StrCat(config.rate, "/s")
                                : std::string("once"))
            << (config.blocking ? ", writes blocking the loop" : "")
            << (config.in_memory ? ", in-memory registry" : "")
            << (config.zk.empty() ? "" : ", zookeeper registry " + config.zk)
            << ", preloaded " << config.preload << ", registry file "
            << (config.in_memory || !config.zk.empty()
                    ? 0
                    : std::filesystem::file_size(path) / 1024)
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
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 1;  // The master logs every admission at INFO.
  agora::Config config;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    bool ok = true;
    if (absl::ConsumePrefix(&arg, "--agents=")) {
      ok = absl::SimpleAtoi(arg, &config.agents);
    } else if (absl::ConsumePrefix(&arg, "--preload=")) {
      ok = absl::SimpleAtoi(arg, &config.preload);
    } else if (absl::ConsumePrefix(&arg, "--rate=")) {
      ok = absl::SimpleAtoi(arg, &config.rate);
    } else if (arg == "--blocking") {
      config.blocking = true;
    } else if (arg == "--in_memory") {
      config.in_memory = true;
    } else if (absl::ConsumePrefix(&arg, "--zk=")) {
      config.zk = std::string(arg);
    } else if (absl::ConsumePrefix(&arg, "--dir=")) {
      config.dir = std::string(arg);
    } else {
      ok = false;
    }
    if (!ok) {
      std::cerr << "usage: " << argv[0]
                << " [--agents=N] [--preload=N] [--rate=N] [--blocking]"
                   " [--in_memory] [--zk=URL]"
                   " [--dir=PATH]\n";
      return 2;
    }
  }
  if (config.dir.empty()) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "registry-bench-XXXXXX")
            .string();
    CHECK(::mkdtemp(tmpl.data()) != nullptr);
    config.dir = tmpl;
  }
  return agora::Run(config);
}
