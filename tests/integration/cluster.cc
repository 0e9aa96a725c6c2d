#include "integration/cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
                                      absl::Duration timeout) {
  Ports ports;
  bool ok = WaitFor(
      [&] {
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
                    res->body};
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
  const std::string& root = cluster->root_;

  std::vector<std::string> master_args = {
      "--ip=127.0.0.1",
      "--port=0",
      "--http_port=0",
      "--work_dir=" + root + "/master",
      "--port_file=" + root + "/master.ports",
      "--allocation_interval=100ms"};
  master_args.insert(master_args.end(), options.master_flags.begin(),
                     options.master_flags.end());
  ::mkdir((root + "/master").c_str(), 0755);
  auto master = Subprocess::Start(BinDir() + "/agora-master", master_args,
                                  root + "/master.log");
  if (!master.ok()) return master.status();
  cluster->master_ = std::move(*master);
  auto ports = WaitForPortFile(root + "/master.ports", absl::Seconds(30));
  if (!ports.ok()) {
    return absl::UnavailableError("master did not start: " +
                                  cluster->master_->Log());
  }
  cluster->master_ports_ = *ports;

  for (int i = 0; i < options.agents; ++i) {
    std::string dir = cluster->agent_work_dir(i);
    ::mkdir(dir.c_str(), 0755);
    std::string port_file = absl::StrCat(root, "/agent", i, ".ports");
    std::vector<std::string> args = {"--master=" + cluster->master_address(),
                                     "--ip=127.0.0.1",
                                     "--port=0",
                                     "--http_port=0",
                                     "--work_dir=" + dir,
                                     "--port_file=" + port_file,
                                     "--resources=" + options.agent_resources};
    args.insert(args.end(), options.agent_flags.begin(),
                options.agent_flags.end());
    auto agent = Subprocess::Start(BinDir() + "/agora-agent", args,
                                   absl::StrCat(root, "/agent", i, ".log"));
    if (!agent.ok()) return agent.status();
    cluster->agents_.push_back(std::move(*agent));
    cluster->agent_args_.push_back(args);
    auto agent_ports = WaitForPortFile(port_file, absl::Seconds(30));
    if (!agent_ports.ok()) {
      return absl::UnavailableError("agent did not start: " +
                                    cluster->agents_.back()->Log());
    }
    cluster->agent_ports_.push_back(*agent_ports);
  }
  absl::Status s = cluster->WaitForAgents(options.agents);
  if (!s.ok()) return s;
  return cluster;
}

LocalCluster::~LocalCluster() {
  for (auto& agent : agents_) agent->Signal(SIGTERM);
  for (auto& agent : agents_) agent->Wait(absl::Seconds(15)).IgnoreError();
  // Executors of checkpointing frameworks outlive their agent by design;
  // a test leaves none behind.
  if (!root_.empty()) {
    for (pid_t pid : ProcessesUnder(root_)) ::kill(pid, SIGKILL);
  }
  if (master_) {
    master_->Signal(SIGTERM);
    master_->Wait(absl::Seconds(15)).IgnoreError();
  }
  if (std::getenv("AGORA_KEEP_TEST_DIRS") == nullptr && !root_.empty()) {
    std::string cmd = "rm -rf '" + root_ + "'";
    (void)std::system(cmd.c_str());
  }
}

std::string LocalCluster::master_address() const {
  return absl::StrCat("127.0.0.1:", master_ports_.grpc);
}

std::string LocalCluster::agent_work_dir(int i) const {
  return absl::StrCat(root_, "/agent", i);
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
  // An agent that refuses to start exits: no need to wait for its ports.
  WaitFor(
      [&] { return !agents_[i]->Running() || !ReadFile(port_file).empty(); },
      absl::Seconds(30));
  auto ports = WaitForPortFile(port_file, absl::Milliseconds(500));
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
        auto body = HttpGet(master_ports_.http, "/state");
        if (!body.ok()) return false;
        auto j = nlohmann::json::parse(*body, nullptr, false);
        return !j.is_discarded() && j.value("activated_slaves", 0) >= n;
      },
      timeout);
  if (ok) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrCat(
      "fewer than ", n, " agents registered; master log:\n", master_->Log()));
}

absl::StatusOr<LocalCluster::ExecuteResult> LocalCluster::Execute(
    const std::vector<std::string>& args, absl::Duration timeout) {
  std::vector<std::string> full = {"--master=" + master_address()};
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
