#include "master/registrar.h"

#include <algorithm>
#include <future>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "glog/logging.h"
#include "master/registrar_batch.h"

namespace agora {
namespace {

absl::Time FromTimeInfo(const mesos::v1::TimeInfo& time) {
  return absl::FromUnixNanos(time.nanoseconds());
}

// Ids name records (and ZooKeeper znodes): printable ASCII without '/' or
// '\', not "." or "..", as Mesos validates ids.
absl::Status ValidateAgentId(const std::string& id) {
  if (id.empty() || id.size() > 255 || id == "." || id == "..") {
    return absl::InvalidArgumentError(
        absl::StrCat("registrar: invalid agent id '", id, "'"));
  }
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7f || c == '/' || c == '\\') {
      return absl::InvalidArgumentError(absl::StrCat(
          "registrar: agent id '", id, "' holds a character that is not ",
          "printable ASCII, or '/' or '\\'"));
    }
  }
  return absl::OkStatus();
}

// Of `entries` (id -> time), the ids to prune, oldest first.
std::vector<std::string> SelectOld(
    const std::map<std::string, absl::Time>& entries, absl::Time now,
    absl::Duration max_age, size_t max_count) {
  std::vector<std::pair<absl::Time, std::string>> by_age;
  by_age.reserve(entries.size());
  for (const auto& [id, time] : entries) by_age.emplace_back(time, id);
  std::sort(by_age.begin(), by_age.end());
  std::vector<std::string> out;
  for (const auto& [time, id] : by_age) {
    if (entries.size() - out.size() > max_count || now - time > max_age) {
      out.push_back(id);
    }
  }
  return out;
}

}  // namespace

Registrar::Registrar(EventLoop* loop, std::unique_ptr<Registry> registry,
                     Options options)
    : loop_(loop),
      registry_(std::move(registry)),
      options_(std::move(options)),
      self_(std::make_shared<Registrar*>(this)) {}

Registrar::~Registrar() {
  if (store_timer_ != 0) loop_->Cancel(store_timer_);
}

// --- Recovery ----------------------------------------------------------------

absl::Status Registrar::RecoverNow() {
  std::promise<absl::StatusOr<internal::Registry>> promise;
  std::future<absl::StatusOr<internal::Registry>> future = promise.get_future();
  registry_->Recover([&promise](absl::StatusOr<internal::Registry> state) {
    promise.set_value(std::move(state));
  });
  AGORA_ASSIGN_OR_RETURN(internal::Registry state, future.get());
  return Adopt(state);
}

void Registrar::Recover(Done done) {
  std::weak_ptr<Registrar*> weak = self_;
  EventLoop* loop = loop_;
  registry_->Recover([loop, weak, done = std::move(done)](
                         absl::StatusOr<internal::Registry> state) mutable {
    loop->Post([weak, done = std::move(done), state = std::move(state)] {
      std::shared_ptr<Registrar*> self = weak.lock();
      if (self == nullptr) return;
      done(state.ok() ? (*self)->Adopt(*state) : state.status());
    });
  });
}

absl::Status Registrar::Adopt(const internal::Registry& state) {
  agents_.clear();
  unreachable_.clear();
  gone_.clear();
  for (const auto& agent : state.agents()) {
    if (agent.info().id().value().empty()) {
      return absl::DataLossError(
          absl::StrCat("registry: an admitted agent (hostname '",
                       agent.info().hostname(), "') has no id"));
    }
    agents_[agent.info().id().value()] = agent.info();
  }
  for (const auto& agent : state.unreachable()) {
    unreachable_[agent.id().value()] = FromTimeInfo(agent.timestamp());
  }
  for (const auto& agent : state.gone()) {
    gone_[agent.id().value()] = FromTimeInfo(agent.timestamp());
  }
  *roles_.mutable_weights() = state.weights();
  *roles_.mutable_quota_configs() = state.quota_configs();
  return absl::OkStatus();
}

// --- Operations --------------------------------------------------------------

void Registrar::AdmitAgent(const mesos::v1::AgentInfo& info, Done done) {
  const std::string id = info.id().value();
  Enqueue({absl::StrCat("admit agent ", id), id,
           [info, id](Batch* batch) -> absl::Status {
             AGORA_RETURN_IF_ERROR(ValidateAgentId(id));
             if (!info.IsInitialized()) {
               return absl::InvalidArgumentError(absl::StrCat(
                   "registrar: agent info of ", id, " lacks required fields: ",
                   info.InitializationErrorString()));
             }
             if (batch->GoneSince(id).has_value()) {
               return absl::FailedPreconditionError(
                   absl::StrCat("registrar: agent ", id, " is gone"));
             }
             batch->EraseUnreachable(id);
             batch->PutAgent(info);
             return absl::OkStatus();
           },
           std::move(done)});
}

void Registrar::MarkUnreachable(const std::string& agent_id, absl::Time time,
                                Done done) {
  Enqueue({absl::StrCat("mark agent ", agent_id, " unreachable"), agent_id,
           [agent_id, time](Batch* batch) -> absl::Status {
             AGORA_RETURN_IF_ERROR(ValidateAgentId(agent_id));
             if (batch->FindAgent(agent_id) == nullptr) {
               return absl::NotFoundError(absl::StrCat(
                   "registrar: agent ", agent_id, " is not admitted"));
             }
             batch->EraseAgent(agent_id);
             batch->PutUnreachable(agent_id, time);
             return absl::OkStatus();
           },
           std::move(done)});
}

void Registrar::MarkGone(const std::string& agent_id, absl::Time time,
                         Done done) {
  Enqueue({absl::StrCat("mark agent ", agent_id, " gone"), agent_id,
           [agent_id, time](Batch* batch) -> absl::Status {
             AGORA_RETURN_IF_ERROR(ValidateAgentId(agent_id));
             if (batch->GoneSince(agent_id).has_value()) {
               return absl::OkStatus();
             }
             batch->EraseAgent(agent_id);
             batch->EraseUnreachable(agent_id);
             batch->PutGone(agent_id, time);
             return absl::OkStatus();
           },
           std::move(done)});
}

void Registrar::Prune(PruneList list, Done done) {
  Enqueue({absl::StrCat("prune ", list.unreachable.size(), " unreachable and ",
                        list.gone.size(), " gone agents"),
           "",
           [list = std::move(list)](Batch* batch) -> absl::Status {
             for (const std::string& id : list.unreachable) {
               if (batch->UnreachableSince(id)) batch->EraseUnreachable(id);
             }
             for (const std::string& id : list.gone) {
               if (batch->GoneSince(id)) batch->EraseGone(id);
             }
             return absl::OkStatus();
           },
           std::move(done)});
}

Registrar::PruneList Registrar::SelectForPruning(absl::Time now,
                                                 absl::Duration max_age,
                                                 size_t max_count) const {
  return PruneList{SelectOld(unreachable_, now, max_age, max_count),
                   SelectOld(gone_, now, max_age, max_count)};
}

// --- Batching and writing ----------------------------------------------------

void Registrar::Enqueue(Operation op) {
  DCHECK(loop_->IsLoopThread());
  if (!op.agent_id.empty()) ++pending_agents_[op.agent_id];
  queue_.push_back(std::move(op));
  MaybeWrite();
}

void Registrar::MaybeWrite() {
  if (writing_ || queue_.empty()) return;
  Batch batch(*this);
  written_ = TakeBatch(&batch);
  overlay_ = batch.TakeOverlay();
  StartWrite(batch.Changes(*overlay_));
}

std::vector<Registrar::Written> Registrar::TakeBatch(Batch* batch) {
  const size_t max_bytes = registry_->max_apply_bytes();
  std::vector<Written> ops;
  size_t bytes = 0;
  while (!queue_.empty()) {
    absl::Status status = queue_.front().apply(batch);
    if (status.ok()) {
      const size_t op_bytes = batch->StagedBytes(*registry_);
      if (op_bytes > max_bytes) {
        status = absl::InvalidArgumentError(absl::StrCat(
            "registrar: cannot ", queue_.front().what, ": its records take ",
            op_bytes, " bytes, over the registry's limit of ", max_bytes));
      } else if (bytes + op_bytes > max_bytes) {
        batch->DropStaged();
        break;  // The next write takes it.
      } else {
        bytes += op_bytes;
      }
    }
    if (status.ok()) {
      batch->MergeStaged();
    } else {
      batch->DropStaged();
    }
    ops.push_back({std::move(queue_.front()), std::move(status)});
    queue_.pop_front();
  }
  return ops;
}

void Registrar::StartWrite(std::vector<RegistryChange> changes) {
  const uint64_t write = ++write_;
  writing_ = true;
  std::weak_ptr<Registrar*> weak = self_;
  auto on_written = [weak, write](absl::Status status) {
    if (std::shared_ptr<Registrar*> self = weak.lock()) {
      (*self)->OnWritten(write, std::move(status));
    }
  };
  if (changes.empty()) {  // Nothing to store: complete in order, later.
    loop_->Post([on_written] { on_written(absl::OkStatus()); });
    return;
  }
  store_timer_ = loop_->PostAfter(options_.store_timeout, [weak, write] {
    if (std::shared_ptr<Registrar*> self = weak.lock()) {
      (*self)->OnStoreTimeout(write);
    }
  });
  EventLoop* loop = loop_;
  registry_->Apply(std::move(changes), [loop, on_written](absl::Status s) {
    loop->Post([on_written, s = std::move(s)] { on_written(s); });
  });
}

void Registrar::OnWritten(uint64_t write, absl::Status status) {
  if (write != write_ || !writing_) return;
  if (store_timer_ != 0) loop_->Cancel(store_timer_);
  store_timer_ = 0;
  writing_ = false;
  if (status.ok()) Commit(*overlay_);
  overlay_.reset();
  Complete(std::move(written_), status);
  MaybeWrite();
}

void Registrar::OnStoreTimeout(uint64_t write) {
  store_timer_ = 0;
  if (write != write_ || !writing_) return;
  options_.on_store_timeout(absl::DeadlineExceededError(absl::StrCat(
      "registrar: a registry write (", written_.size(),
      " operations, the first to ", written_.front().op.what,
      ") did not complete within ",
      absl::FormatDuration(options_.store_timeout), " (", Describe(), ")")));
}

// Each completion is a closure of its own, in order: a large batch does not
// hold the loop for all of its operations' follow-up work at once. An
// operation stays pending until its completion runs.
void Registrar::Complete(std::vector<Written> ops, const absl::Status& status) {
  std::weak_ptr<Registrar*> weak = self_;
  for (Written& written : ops) {
    absl::Status result = written.refused.ok() ? status : written.refused;
    loop_->Post([weak, op = std::move(written.op), result] {
      std::shared_ptr<Registrar*> self = weak.lock();
      if (self == nullptr) return;
      auto& pending = (*self)->pending_agents_;
      auto it = pending.find(op.agent_id);
      if (it != pending.end() && --it->second == 0) pending.erase(it);
      op.done(result);
    });
  }
}

void Registrar::Commit(const Overlay& overlay) {
  for (const auto& [id, info] : overlay.agents) {
    if (info.has_value()) {
      agents_[id] = *info;
    } else {
      agents_.erase(id);
    }
  }
  for (const auto& [id, time] : overlay.unreachable) {
    if (time.has_value()) {
      unreachable_[id] = *time;
    } else {
      unreachable_.erase(id);
    }
  }
  for (const auto& [id, time] : overlay.gone) {
    if (time.has_value()) {
      gone_[id] = *time;
    } else {
      gone_.erase(id);
    }
  }
  if (overlay.roles.has_value()) roles_ = *overlay.roles;
}

// --- Reads -------------------------------------------------------------------

bool Registrar::IsPending(const std::string& agent_id) const {
  return pending_agents_.count(agent_id) > 0;
}

const mesos::v1::AgentInfo* Registrar::FindAgent(
    const std::string& agent_id) const {
  auto it = agents_.find(agent_id);
  return it == agents_.end() ? nullptr : &it->second;
}

std::optional<absl::Time> Registrar::UnreachableSince(
    const std::string& agent_id) const {
  auto it = unreachable_.find(agent_id);
  if (it == unreachable_.end()) return std::nullopt;
  return it->second;
}

std::optional<absl::Time> Registrar::GoneSince(
    const std::string& agent_id) const {
  auto it = gone_.find(agent_id);
  if (it == gone_.end()) return std::nullopt;
  return it->second;
}

}  // namespace agora
