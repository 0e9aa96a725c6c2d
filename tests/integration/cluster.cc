#include "integration/cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace agora::testing {

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    const std::string& binary, const std::vector<std::string>& args,
    const std::string& log_path) {
  int fd =
      ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError("cannot open log " + log_path);
  std::vector<std::string> argv_storage = {binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::setpgid(0, 0);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(fd);
  return std::unique_ptr<Subprocess>(new Subprocess(pid, log_path));
}

Subprocess::~Subprocess() {
  if (Running()) {
    ::kill(pid_, SIGKILL);
    Wait(absl::Seconds(10)).IgnoreError();
  }
}

void Subprocess::Signal(int sig) {
  if (!exit_code_) ::kill(pid_, sig);
}

bool Subprocess::Running() {
  if (exit_code_) return false;
  int status;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ =
        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return r == 0;
}

absl::StatusOr<int> Subprocess::Wait(absl::Duration timeout) {
  if (WaitFor([this] { return !Running(); }, timeout)) return *exit_code_;
  return absl::DeadlineExceededError(
      absl::StrCat("pid ", pid_, " still running"));
}

std::string Subprocess::Log() const { return ReadFile(log_path_); }

bool WaitFor(const std::function<bool()>& fn, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (fn()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return fn();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<Ports> WaitForPortFile(const std::string& path,
                                      absl::Duration timeout,
                                      Subprocess* process) {
  Ports ports;
  bool exited = false;
  bool ok = WaitFor(
      [&] {
        if (process != nullptr && !process->Running()) {
          exited = true;
          return true;
        }
        std::string text = ReadFile(path);
        for (absl::string_view line :
             absl::StrSplit(text, '\n', absl::SkipEmpty())) {
          std::pair<absl::string_view, absl::string_view> kv =
              absl::StrSplit(line, absl::MaxSplits('=', 1));
          if (kv.first == "grpc")
            (void)absl::SimpleAtoi(kv.second, &ports.grpc);
          if (kv.first == "http")
            (void)absl::SimpleAtoi(kv.second, &ports.http);
        }
        return ports.grpc > 0 && ports.http > 0;
      },
      timeout);
  if (exited && (ports.grpc == 0 || ports.http == 0)) {
    return absl::FailedPreconditionError("exited without a port file at " +
                                         path);
  }
  if (!ok) return absl::DeadlineExceededError("no port file at " + path);
  return ports;
}

absl::StatusOr<std::string> HttpGet(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  auto res = client.Get(path.c_str());
  if (!res)
    return absl::UnavailableError(absl::StrCat("GET ", path, " failed"));
  if (res->status != 200) {
    return absl::InternalError(absl::StrCat("GET ", path, ": ", res->status));
  }
  return res->body;
}

absl::StatusOr<HttpResult> HttpGetResult(int port, const std::string& path,
                                         absl::Duration timeout) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(absl::ToChronoMicroseconds(timeout));
  client.set_read_timeout(absl::ToChronoMicroseconds(timeout));
  auto res = client.Get(path.c_str());
  if (!res)
    return absl::UnavailableError(absl::StrCat("GET ", path, " failed"));
  return HttpResult{res->status, res->get_header_value("Content-Type"),
                    res->body, res->get_header_value("Location")};
}

absl::StatusOr<HttpResult> HttpPost(int port, const std::string& path,
                                    const std::string& body,
                                    const std::string& content_type,
                                    const std::string& accept) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  httplib::Headers headers;
  if (!accept.empty()) headers.emplace("Accept", accept);
  auto res = client.Post(path.c_str(), headers, body, content_type.c_str());
  if (!res) {
    return absl::UnavailableError(absl::StrCat("POST ", path, " failed"));
  }
  return HttpResult{res->status, res->get_header_value("Content-Type"),
                    res->body, res->get_header_value("Location")};
}

std::string BinDir() {
  const char* dir = std::getenv("AGORA_BIN_DIR");
  return dir != nullptr ? dir : "build/bin";
}

absl::StatusOr<std::unique_ptr<LocalCluster>> LocalCluster::Start(
    Options options) {
  auto cluster = std::unique_ptr<LocalCluster>(new LocalCluster());
  std::string tmpl = ::testing::TempDir();
  if (tmpl.empty() || tmpl.back() != '/') tmpl += '/';
  tmpl += "agora-it-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return absl::InternalError("mkdtemp failed");
  }
  cluster->root_ = tmpl;
  cluster->zk_ = options.zk;
  int masters = options.zk.empty() ? 1 : std::max(options.masters, 1);
  for (int i = 0; i < masters; ++i) {
    std::string name = cluster->MasterName(i);
    std::vector<std::string> args = {
        "--ip=127.0.0.1",
        "--port=0",
        "--http_port=0",
        "--work_dir=" + cluster->root_ + "/" + name,
        "--port_file=" + cluster->root_ + "/" + name + ".ports",
        "--allocation_interval=100ms"};
    if (!options.zk.empty()) args.push_back("--zk=" + options.zk);
    args.insert(args.end(), options.master_flags.begin(),
                options.master_flags.end());
    cluster->master_args_.push_back(std::move(args));
    cluster->masters_.emplace_back();
    cluster->master_ports_.emplace_back();
    cluster->master_starts_.push_back(0);
    absl::Status s = cluster->StartMaster(i);
    if (!s.ok()) return s;
  }
  if (!options.zk.empty()) {
    absl::StatusOr<int> leader = cluster->WaitForLeader();
    if (!leader.ok()) return leader.status();
  }
  for (int i = 0; i < options.agents; ++i) {
    absl::Status s = cluster->LaunchAgent(i, options);
    if (!s.ok()) return s;
  }
  absl::Status s = cluster->WaitForAgents(options.agents);
  if (!s.ok()) return s;
  return cluster;
}

std::string LocalCluster::MasterName(int i) const {
  return i == 0 ? "master" : absl::StrCat("master", i);
}

absl::Status LocalCluster::StartMaster(int i) {
  std::string name = MasterName(i);
  std::string port_file = absl::StrCat(root_, "/", name, ".ports");
  ::unlink(port_file.c_str());
  ::mkdir(absl::StrCat(root_, "/", name).c_str(), 0755);
  int starts = master_starts_[i]++;
  std::string log =
      starts == 0 ? absl::StrCat(root_, "/", name, ".log")
                  : absl::StrCat(root_, "/", name, "-restart", starts, ".log");
  auto master =
      Subprocess::Start(BinDir() + "/agora-master", master_args_[i], log);
  if (!master.ok()) return master.status();
  masters_[i] = std::move(*master);
  auto ports = WaitForPortFile(port_file, absl::Seconds(30), masters_[i].get());
  if (!ports.ok()) {
    return absl::UnavailableError(
        absl::StrCat(name, " did not start: ", masters_[i]->Log()));
  }
  master_ports_[i] = *ports;
  return absl::OkStatus();
}

absl::Status LocalCluster::LaunchAgent(int i, const Options& options) {
  std::string dir = agent_work_dir(i);
  ::mkdir(dir.c_str(), 0755);
  std::string port_file = absl::StrCat(root_, "/agent", i, ".ports");
  std::vector<std::string> args = {"--master=" + master_url(),
                                   "--ip=127.0.0.1",
                                   "--port=0",
                                   "--http_port=0",
                                   "--work_dir=" + dir,
                                   "--port_file=" + port_file,
                                   "--resources=" + options.agent_resources};
  args.insert(args.end(), options.agent_flags.begin(),
              options.agent_flags.end());
  auto agent = Subprocess::Start(BinDir() + "/agora-agent", args,
                                 absl::StrCat(root_, "/agent", i, ".log"));
  if (!agent.ok()) return agent.status();
  agents_.push_back(std::move(*agent));
  agent_args_.push_back(args);
  auto agent_ports =
      WaitForPortFile(port_file, absl::Seconds(30), agents_.back().get());
  if (!agent_ports.ok()) {
    return absl::UnavailableError("agent did not start: " +
                                  agents_.back()->Log());
  }
  agent_ports_.push_back(*agent_ports);
  return absl::OkStatus();
}

LocalCluster::~LocalCluster() {
  for (auto& agent : agents_) agent->Signal(SIGTERM);
  for (auto& agent : agents_) agent->Wait(absl::Seconds(15)).IgnoreError();
  // Executors of checkpointing frameworks outlive their agent by design;
  // a test leaves none behind.
  if (!root_.empty()) {
    for (pid_t pid : ProcessesUnder(root_)) ::kill(pid, SIGKILL);
  }
  for (auto& master : masters_) {
    if (master == nullptr) continue;
    master->Signal(SIGCONT);  // A test may have left it stopped.
    master->Signal(SIGTERM);
  }
  for (auto& master : masters_) {
    if (master != nullptr) master->Wait(absl::Seconds(15)).IgnoreError();
  }
  if (std::getenv("AGORA_KEEP_TEST_DIRS") == nullptr && !root_.empty()) {
    std::string cmd = "rm -rf '" + root_ + "'";
    (void)std::system(cmd.c_str());
  }
}

std::string LocalCluster::master_url() const {
  return zk_.empty() ? master_address() : zk_;
}

std::string LocalCluster::master_address(int i) const {
  return absl::StrCat("127.0.0.1:", master_ports_[i].grpc);
}

std::string LocalCluster::agent_work_dir(int i) const {
  return absl::StrCat(root_, "/agent", i);
}

int LocalCluster::Leader() {
  for (int i = 0; i < masters(); ++i) {
    if (masters_[i] == nullptr || !masters_[i]->Running()) continue;
    // Short: a stopped (SIGSTOP) master accepts connections but never
    // answers.
    auto answer =
        HttpGetResult(master_ports_[i].http, "/state", absl::Seconds(1));
    if (!answer.ok() || answer->status != 200) continue;
    auto j = nlohmann::json::parse(answer->body, nullptr, false);
    if (j.is_discarded() || !j.contains("leader") || !j["leader"].is_string()) {
      continue;
    }
    if (absl::EndsWith(j["leader"].get<std::string>(),
                       absl::StrCat(":", master_ports_[i].grpc))) {
      return i;
    }
  }
  return -1;
}

absl::StatusOr<int> LocalCluster::WaitForLeader(absl::Duration timeout,
                                                int other_than) {
  int leader = -1;
  if (WaitFor(
          [&] {
            leader = Leader();
            return leader != -1 && leader != other_than;
          },
          timeout)) {
    return leader;
  }
  std::string logs;
  for (int i = 0; i < masters(); ++i) {
    if (masters_[i] == nullptr) continue;
    std::string log = masters_[i]->Log();
    if (log.size() > 3000) log = "..." + log.substr(log.size() - 3000);
    absl::StrAppend(&logs, "\n--- ", MasterName(i), " ---\n", log);
  }
  return absl::DeadlineExceededError(
      absl::StrCat("no master leads", other_than >= 0 ? " other than " : "",
                   other_than >= 0 ? MasterName(other_than) : "", logs));
}

absl::Status LocalCluster::RestartMaster(int i) {
  if (masters_[i] != nullptr && masters_[i]->Running()) {
    masters_[i]->Signal(SIGTERM);
    absl::StatusOr<int> code = masters_[i]->Wait(absl::Seconds(15));
    if (!code.ok()) return code.status();
  }
  return StartMaster(i);
}

absl::StatusOr<int> LocalCluster::LeaderHttpPort() {
  if (zk_.empty()) return master_ports_[0].http;
  int leader = Leader();
  if (leader < 0) return absl::UnavailableError("no master leads");
  return master_ports_[leader].http;
}

absl::Status LocalCluster::RestartAgent(int i) {
  return RestartAgent(i, SIGTERM, {});
}

absl::Status LocalCluster::StopAgent(int i, int signal) {
  agents_[i]->Signal(signal);
  absl::StatusOr<int> code = agents_[i]->Wait(absl::Seconds(15));
  return code.ok() ? absl::OkStatus() : code.status();
}

absl::Status LocalCluster::StartAgent(
    int i, const std::vector<std::string>& extra_flags) {
  std::string port_file = absl::StrCat(root_, "/agent", i, ".ports");
  ::unlink(port_file.c_str());
  std::vector<std::string> args = agent_args_[i];
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  auto agent = Subprocess::Start(
      BinDir() + "/agora-agent", args,
      absl::StrCat(root_, "/agent", i, "-run", ++agent_runs_, ".log"));
  if (!agent.ok()) return agent.status();
  agents_[i] = std::move(*agent);
  // An agent that refuses to start exits: the wait ends with it.
  auto ports = WaitForPortFile(port_file, absl::Seconds(30), agents_[i].get());
  if (!ports.ok()) {
    return absl::UnavailableError("agent did not restart: " +
                                  agents_[i]->Log());
  }
  agent_ports_[i] = *ports;
  return absl::OkStatus();
}

absl::Status LocalCluster::RestartAgent(
    int i, int signal, const std::vector<std::string>& extra_flags) {
  absl::Status stopped = StopAgent(i, signal);
  if (!stopped.ok()) return stopped;
  return StartAgent(i, extra_flags);
}

std::vector<pid_t> LocalCluster::ProcessesUnder(const std::string& dir) const {
  std::vector<pid_t> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    pid_t pid = atoi(entry.path().filename().c_str());
    if (pid <= 0 || pid == getpid()) continue;
    std::ifstream in(entry.path() / "environ");
    std::string var;
    bool ours = false;
    while (std::getline(in, var, '\0')) {
      if (absl::StartsWith(var, "MESOS_SANDBOX=" + dir)) ours = true;
    }
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    size_t close = line.rfind(')');
    bool zombie =
        close != std::string::npos && line.compare(close + 2, 1, "Z") == 0;
    if (ours && !zombie) pids.push_back(pid);
  }
  return pids;
}

absl::Status LocalCluster::WaitForAgents(int n, absl::Duration timeout) {
  bool ok = WaitFor(
      [&] {
        absl::StatusOr<int> port = LeaderHttpPort();
        if (!port.ok()) return false;
        auto body = HttpGet(*port, "/state");
        if (!body.ok()) return false;
        auto j = nlohmann::json::parse(*body, nullptr, false);
        return !j.is_discarded() && j.value("activated_slaves", 0) >= n;
      },
      timeout);
  if (ok) return absl::OkStatus();
  int leader = zk_.empty() ? 0 : Leader();
  return absl::DeadlineExceededError(absl::StrCat(
      "fewer than ", n, " agents registered; leading master's log:\n",
      leader >= 0 ? masters_[leader]->Log() : "(no master leads)"));
}

absl::StatusOr<LocalCluster::ExecuteResult> LocalCluster::Execute(
    const std::vector<std::string>& args, absl::Duration timeout) {
  std::vector<std::string> full = {"--master=" + master_url()};
  full.insert(full.end(), args.begin(), args.end());
  std::string log = absl::StrCat(root_, "/execute", executions_++, ".log");
  auto proc = Subprocess::Start(BinDir() + "/agora-execute", full, log);
  if (!proc.ok()) return proc.status();
  absl::StatusOr<int> code = (*proc)->Wait(timeout);
  ExecuteResult result;
  result.output = (*proc)->Log();
  if (!code.ok()) {
    return absl::DeadlineExceededError("agora-execute did not exit:\n" +
                                       result.output);
  }
  result.exit_code = *code;
  return result;
}

}  // namespace agora::testing
