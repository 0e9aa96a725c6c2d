#include "master/master_test_util.h"

#include <future>
#include <utility>

#include "absl/time/clock.h"
#include "common/ids.h"
#include "common/resources.h"
#include "common/resources_proto.h"
#include "glog/logging.h"
#include "httplib.h"
#include "master/scheduler_service.h"

namespace agora::testing {
namespace {

absl::Status ToAbsl(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

template <typename T>
std::optional<grpc::Status> WaitForStatus(std::mutex* mu,
                                          std::condition_variable* cv,
                                          const std::optional<T>* end,
                                          absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(*mu);
  cv->wait_for(lock, absl::ToChronoNanoseconds(timeout),
               [&] { return end->has_value(); });
  return *end;
}

}  // namespace

MasterOptions TestMasterOptions() {
  MasterOptions options;
  options.ip = "127.0.0.1";
  options.port = 0;
  options.http_port = 0;
  options.registry = RegistryKind::kInMemory;
  options.allocation_interval = absl::Milliseconds(50);
  options.shuffle_agents = false;
  options.hostname = "test-master";
  return options;
}

absl::StatusOr<internal::Registry> RecoverRegistry(Registry* registry) {
  std::promise<absl::StatusOr<internal::Registry>> promise;
  std::future<absl::StatusOr<internal::Registry>> future = promise.get_future();
  registry->Recover([&promise](absl::StatusOr<internal::Registry> state) {
    promise.set_value(std::move(state));
  });
  return future.get();
}

bool WaitUntil(const std::function<bool()>& fn, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (fn()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return fn();
}

nlohmann::json GetJson(const MasterServer& server, const std::string& path) {
  httplib::Client client("127.0.0.1", server.http_port());
  client.set_read_timeout(10);
  auto result = client.Get(path.c_str());
  if (!result || result->status != 200) return nlohmann::json();
  return nlohmann::json::parse(result->body, nullptr, false);
}

mesos::v1::AgentInfo TestAgentInfo(const std::string& hostname,
                                   const std::string& resources) {
  mesos::v1::AgentInfo info;
  info.set_hostname(hostname);
  info.set_port(5051);
  absl::StatusOr<Resources> parsed = Resources::Parse(resources);
  CHECK(parsed.ok()) << parsed.status();
  *info.mutable_resources() = ToProto(*parsed);
  return info;
}

mesos::v1::FrameworkInfo TestFrameworkInfo(const std::string& name) {
  mesos::v1::FrameworkInfo info;
  info.set_user("tester");
  info.set_name(name);
  return info;
}

mesos::v1::TaskInfo CommandTask(const std::string& id,
                                const std::string& agent_id,
                                const std::string& resources,
                                const std::string& command) {
  mesos::v1::TaskInfo task;
  task.set_name(id);
  task.mutable_task_id()->set_value(id);
  task.mutable_agent_id()->set_value(agent_id);
  absl::StatusOr<Resources> parsed = Resources::Parse(resources);
  CHECK(parsed.ok()) << parsed.status();
  *task.mutable_resources() = ToProto(*parsed);
  task.mutable_command()->set_value(command);
  return task;
}

double OfferedScalar(const mesos::v1::Offer& offer, const std::string& name) {
  double total = 0;
  for (const auto& r : offer.resources()) {
    if (r.name() == name) total += r.scalar().value();
  }
  return total;
}

// --- FakeAgent
// -----------------------------------------------------------------

FakeAgent::FakeAgent(const std::string& master_address)
    : stub_(internal::AgentLink::NewStub(grpc::CreateChannel(
          master_address, grpc::InsecureChannelCredentials()))) {}

FakeAgent::~FakeAgent() {
  if (context_ != nullptr) context_->TryCancel();
  if (reader_.joinable()) reader_.join();
}

absl::StatusOr<internal::AgentRegistered> FakeAgent::Register(
    const mesos::v1::AgentInfo& info) {
  internal::AgentMessage message;
  *message.mutable_register_agent()->mutable_agent_info() = info;
  return Open(message);
}

absl::StatusOr<internal::AgentRegistered> FakeAgent::Reregister(
    const internal::ReregisterAgent& reregister) {
  internal::AgentMessage message;
  *message.mutable_reregister_agent() = reregister;
  return Open(message);
}

void FakeAgent::Connect(const internal::AgentMessage& first) {
  CHECK(context_ == nullptr) << "a FakeAgent opens one link";
  context_ = std::make_unique<grpc::ClientContext>();
  stream_ = stub_->Connect(context_.get());
  Send(first);
  reader_ = std::thread([this] { ReadLoop(); });
}

absl::StatusOr<internal::AgentRegistered> FakeAgent::Open(
    const internal::AgentMessage& first) {
  Connect(first);
  std::optional<MasterMessage> registered =
      Take(MasterMessage::kAgentRegistered);
  if (!registered.has_value()) {
    std::optional<grpc::Status> end = WaitForEnd(absl::Seconds(5));
    if (end.has_value()) return ToAbsl(*end);
    return absl::DeadlineExceededError("no agent_registered");
  }
  agent_id_ = registered->agent_registered().agent_id().value();
  return registered->agent_registered();
}

bool FakeAgent::Send(const internal::AgentMessage& message) {
  std::lock_guard<std::mutex> lock(write_mu_);
  return stream_->Write(message);
}

std::string FakeAgent::SendStatusUpdate(const std::string& framework_id,
                                        const std::string& task_id,
                                        mesos::v1::TaskState state) {
  std::string uuid = RandomUuidBytes();
  internal::AgentMessage message;
  internal::StatusUpdate* update = message.mutable_status_update();
  update->mutable_framework_id()->set_value(framework_id);
  mesos::v1::TaskStatus* status = update->mutable_status();
  status->mutable_task_id()->set_value(task_id);
  status->set_state(state);
  status->set_uuid(uuid);
  status->set_source(mesos::v1::TaskStatus::SOURCE_EXECUTOR);
  status->mutable_agent_id()->set_value(agent_id_);
  status->set_timestamp(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
  update->set_latest_state(state);
  Send(message);
  return uuid;
}

void FakeAgent::ReadLoop() {
  MasterMessage message;
  while (stream_->Read(&message)) {
    if (message.has_ping() && answer_pings_) {
      internal::AgentMessage pong;
      pong.mutable_pong()->set_sequence(message.ping().sequence());
      Send(pong);
    }
    inbox_.Push(message);
    message.Clear();
  }
  grpc::Status status;
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    status = stream_->Finish();
  }
  {
    std::lock_guard<std::mutex> lock(end_mu_);
    end_ = status;
    end_cv_.notify_all();
  }
  inbox_.Close();
}

std::optional<FakeAgent::MasterMessage> FakeAgent::Take(
    MasterMessage::MessageCase kind, absl::Duration timeout) {
  return inbox_.Take(
      [kind](const MasterMessage& m) { return m.message_case() == kind; },
      timeout);
}

void FakeAgent::Disconnect() {
  if (context_ != nullptr) context_->TryCancel();
}

std::optional<grpc::Status> FakeAgent::WaitForEnd(absl::Duration timeout) {
  return WaitForStatus(&end_mu_, &end_cv_, &end_, timeout);
}

// --- FakeScheduler
// -------------------------------------------------------------

FakeScheduler::FakeScheduler(const std::string& master_address)
    : stub_(agora::v1::Scheduler::NewStub(grpc::CreateChannel(
          master_address, grpc::InsecureChannelCredentials()))) {}

FakeScheduler::~FakeScheduler() {
  if (context_ != nullptr) context_->TryCancel();
  if (reader_.joinable()) reader_.join();
}

absl::StatusOr<Event::Subscribed> FakeScheduler::Subscribe(
    const mesos::v1::FrameworkInfo& info) {
  CHECK(context_ == nullptr) << "a FakeScheduler subscribes once";
  Call call;
  call.set_type(Call::SUBSCRIBE);
  if (info.has_id()) *call.mutable_framework_id() = info.id();
  *call.mutable_subscribe()->mutable_framework_info() = info;
  context_ = std::make_unique<grpc::ClientContext>();
  stream_ = stub_->Subscribe(context_.get(), call);
  stream_->WaitForInitialMetadata();
  auto it = context_->GetServerInitialMetadata().find(kStreamIdMetadata);
  if (it != context_->GetServerInitialMetadata().end()) {
    stream_id_.assign(it->second.data(), it->second.size());
  }
  reader_ = std::thread([this] { ReadLoop(); });
  std::optional<Event> subscribed = Take(Event::SUBSCRIBED);
  if (!subscribed.has_value()) {
    std::optional<grpc::Status> end = WaitForEnd(absl::Seconds(5));
    if (end.has_value()) return ToAbsl(*end);
    return absl::DeadlineExceededError("no SUBSCRIBED event");
  }
  framework_id_ = subscribed->subscribed().framework_id().value();
  return subscribed->subscribed();
}

void FakeScheduler::ReadLoop() {
  Event event;
  while (stream_->Read(&event)) {
    inbox_.Push(event);
    event.Clear();
  }
  grpc::Status status = stream_->Finish();
  {
    std::lock_guard<std::mutex> lock(end_mu_);
    end_ = status;
    end_cv_.notify_all();
  }
  inbox_.Close();
}

grpc::Status FakeScheduler::Send(Call call) {
  if (!call.has_framework_id()) {
    call.mutable_framework_id()->set_value(framework_id_);
  }
  return SendRaw(call, stream_id_);
}

grpc::Status FakeScheduler::SendRaw(const Call& call,
                                    const std::string& stream_id) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  if (!stream_id.empty()) context.AddMetadata(kStreamIdMetadata, stream_id);
  agora::v1::CallResponse response;
  return stub_->Call(&context, call, &response);
}

std::optional<Event> FakeScheduler::Take(Event::Type type,
                                         absl::Duration timeout) {
  return Take([type](const Event& e) { return e.type() == type; }, timeout);
}

std::optional<Event> FakeScheduler::Take(
    const std::function<bool(const Event&)>& pred, absl::Duration timeout) {
  return inbox_.Take(pred, timeout);
}

std::optional<mesos::v1::Offer> FakeScheduler::TakeOffer(
    absl::Duration timeout) {
  std::optional<Event> event = Take(Event::OFFERS, timeout);
  if (!event.has_value() || event->offers().offers().empty()) {
    return std::nullopt;
  }
  return event->offers().offers(0);
}

std::vector<mesos::v1::Offer> FakeScheduler::TakeOffers(
    size_t n, absl::Duration timeout) {
  std::vector<mesos::v1::Offer> out;
  absl::Time deadline = absl::Now() + timeout;
  while (out.size() < n) {
    std::optional<Event> event = Take(
        Event::OFFERS, std::max(deadline - absl::Now(), absl::ZeroDuration()));
    if (!event.has_value()) break;
    for (const auto& offer : event->offers().offers()) out.push_back(offer);
  }
  return out;
}

void FakeScheduler::Disconnect() {
  if (context_ != nullptr) context_->TryCancel();
}

std::optional<grpc::Status> FakeScheduler::WaitForEnd(absl::Duration timeout) {
  return WaitForStatus(&end_mu_, &end_cv_, &end_, timeout);
}

Call FakeScheduler::Accept(const std::vector<std::string>& offer_ids,
                           const std::vector<mesos::v1::TaskInfo>& tasks,
                           std::optional<double> refuse_seconds) const {
  Call call;
  call.set_type(Call::ACCEPT);
  call.mutable_framework_id()->set_value(framework_id_);
  Call::Accept* accept = call.mutable_accept();
  for (const std::string& id : offer_ids) {
    accept->add_offer_ids()->set_value(id);
  }
  if (!tasks.empty()) {
    mesos::v1::Offer::Operation* launch = accept->add_operations();
    launch->set_type(mesos::v1::Offer::Operation::LAUNCH);
    for (const auto& task : tasks) {
      *launch->mutable_launch()->add_task_infos() = task;
    }
  }
  if (refuse_seconds.has_value()) {
    accept->mutable_filters()->set_refuse_seconds(*refuse_seconds);
  }
  return call;
}

Call FakeScheduler::Decline(const std::vector<std::string>& offer_ids,
                            std::optional<double> refuse_seconds) const {
  Call call;
  call.set_type(Call::DECLINE);
  call.mutable_framework_id()->set_value(framework_id_);
  for (const std::string& id : offer_ids) {
    call.mutable_decline()->add_offer_ids()->set_value(id);
  }
  if (refuse_seconds.has_value()) {
    call.mutable_decline()->mutable_filters()->set_refuse_seconds(
        *refuse_seconds);
  }
  return call;
}

}  // namespace agora::testing
