#include "master/registry.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/event_loop.h"
#include "common/file_util.h"
#include "glog/logging.h"

namespace agora {

using RegistryState = internal::Registry;

namespace {

const std::string& IdOf(const RegistryState::Agent& agent) {
  return agent.info().id().value();
}
const std::string& IdOf(const RegistryState::UnreachableAgent& agent) {
  return agent.id().value();
}
const std::string& IdOf(const RegistryState::GoneAgent& agent) {
  return agent.id().value();
}

// Parses `change`'s record into `out`; it must name the change's agent.
template <typename Record>
absl::Status ParseAgentRecord(const RegistryChange& change, Record* out) {
  if (!out->ParseFromString(*change.record)) {
    return absl::InvalidArgumentError(
        absl::StrCat("registry: record '", change.Name(), "' does not parse"));
  }
  if (IdOf(*out) != change.agent_id) {
    return absl::InvalidArgumentError(
        absl::StrCat("registry: record '", change.Name(), "' names agent '",
                     IdOf(*out), "'"));
  }
  return absl::OkStatus();
}

// Replaces (or with nullopt removes) `id` in `records`; returns the change
// that restores the previous value.
template <typename Record>
RegistryChange Swap(std::map<std::string, Record>* records,
                    const RegistryChange& change, std::optional<Record> next) {
  RegistryChange undo{change.kind, change.agent_id, std::nullopt};
  auto it = records->find(change.agent_id);
  if (it != records->end()) {
    undo.record = it->second.SerializeAsString();
    if (next.has_value()) {
      it->second = *std::move(next);
    } else {
      records->erase(it);
    }
  } else if (next.has_value()) {
    records->emplace(change.agent_id, *std::move(next));
  }
  return undo;
}

// Entries of `records` ordered by (time, id): Mesos's registry lists them
// in the order they were added, and pruning drops the oldest first.
template <typename Record, typename Repeated>
void AddByTime(const std::map<std::string, Record>& records, Repeated* out) {
  std::vector<const Record*> sorted;
  sorted.reserve(records.size());
  for (const auto& [id, record] : records) sorted.push_back(&record);
  std::stable_sort(
      sorted.begin(), sorted.end(), [](const Record* a, const Record* b) {
        return a->timestamp().nanoseconds() < b->timestamp().nanoseconds();
      });
  for (const Record* record : sorted) *out->Add() = *record;
}

class InMemoryRegistry : public Registry {
 public:
  void Recover(RecoverDone done) override { done(records_.ToRegistry()); }
  void Apply(std::vector<RegistryChange> changes, Done done) override {
    done(records_.Apply(changes).status());
  }
  std::string Describe() const override { return "in_memory"; }

 private:
  RegistryRecords records_;
};

class LocalRegistry : public Registry {
 public:
  explicit LocalRegistry(std::string path)
      : path_(std::move(path)), writer_("registry-writer") {
    writer_.Start();
  }
  ~LocalRegistry() override { writer_.Stop(); }

  void Recover(RecoverDone done) override {
    writer_.Post([this, done = std::move(done)] { done(Read()); });
  }

  void Apply(std::vector<RegistryChange> changes, Done done) override {
    writer_.Post([this, changes = std::move(changes), done = std::move(done)] {
      done(Write(changes));
    });
  }

  std::string Describe() const override {
    return absl::StrCat("local file ", path_);
  }

 private:
  // Writer thread.
  absl::StatusOr<internal::Registry> Read() {
    const size_t slash = path_.rfind('/');
    if (slash != std::string::npos && slash > 0) {
      absl::Status made = MakeDirectories(path_.substr(0, slash));
      if (!made.ok()) {
        return absl::Status(made.code(),
                            absl::StrCat("registry: ", made.message()));
      }
    }
    absl::StatusOr<std::string> data = ReadFileToString(path_);
    if (absl::IsNotFound(data.status())) return internal::Registry();
    if (!data.ok()) {
      return absl::Status(data.status().code(),
                          absl::StrCat("registry: ", data.status().message()));
    }
    internal::Registry state;
    if (!state.ParseFromString(*data)) {
      return absl::DataLossError(absl::StrCat("registry: '", path_,
                                              "' is corrupt (", data->size(),
                                              " bytes that do not parse)"));
    }
    absl::Status loaded = records_.Load(state);
    if (!loaded.ok()) {
      return absl::DataLossError(
          absl::StrCat("registry: '", path_, "': ", loaded.message()));
    }
    return state;
  }

  // Writer thread. Applies `changes` to the copy and writes it whole; on
  // failure the copy is restored.
  absl::Status Write(const std::vector<RegistryChange>& changes) {
    absl::StatusOr<std::vector<RegistryChange>> undo = records_.Apply(changes);
    if (!undo.ok()) return undo.status();
    absl::Status written =
        WriteFileAtomically(path_, records_.ToRegistry().SerializeAsString());
    if (written.ok()) return written;
    // The undo holds records this copy serialized: it always applies.
    CHECK(records_.Apply(*undo).ok());
    return absl::Status(written.code(),
                        absl::StrCat("registry: ", written.message()));
  }

  const std::string path_;
  RegistryRecords records_;  // Writer thread only.
  EventLoop writer_;         // Declared last: stopped (and joined) first.
};

}  // namespace

std::string RegistryChange::Name() const {
  switch (kind) {
    case RecordKind::kAgent:
      return absl::StrCat("agents/", agent_id);
    case RecordKind::kUnreachable:
      return absl::StrCat("unreachable/", agent_id);
    case RecordKind::kGone:
      return absl::StrCat("gone/", agent_id);
    case RecordKind::kRoles:
      return "roles";
  }
  return "unknown";
}

size_t Registry::ChangeBytes(const RegistryChange& change) const {
  return change.Name().size() + (change.record ? change.record->size() : 0);
}

absl::Status RegistryRecords::Load(const RegistryState& state) {
  *this = RegistryRecords();
  for (const RegistryState::Agent& agent : state.agents()) {
    if (IdOf(agent).empty()) {
      return absl::InvalidArgumentError("an admitted agent has no id");
    }
    agents_[IdOf(agent)] = agent;
  }
  for (const RegistryState::UnreachableAgent& agent : state.unreachable()) {
    unreachable_[IdOf(agent)] = agent;
  }
  for (const RegistryState::GoneAgent& agent : state.gone()) {
    gone_[IdOf(agent)] = agent;
  }
  *roles_.mutable_weights() = state.weights();
  *roles_.mutable_quota_configs() = state.quota_configs();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RegistryChange>> RegistryRecords::Apply(
    const std::vector<RegistryChange>& changes) {
  // Every record parses before anything changes.
  struct Parsed {
    std::optional<RegistryState::Agent> agent;
    std::optional<RegistryState::UnreachableAgent> unreachable;
    std::optional<RegistryState::GoneAgent> gone;
    RegistryState::Roles roles;
  };
  std::vector<Parsed> parsed(changes.size());
  for (size_t i = 0; i < changes.size(); ++i) {
    const RegistryChange& change = changes[i];
    if (!change.record.has_value()) continue;
    absl::Status status;
    switch (change.kind) {
      case RecordKind::kAgent:
        status = ParseAgentRecord(change, &parsed[i].agent.emplace());
        break;
      case RecordKind::kUnreachable:
        status = ParseAgentRecord(change, &parsed[i].unreachable.emplace());
        break;
      case RecordKind::kGone:
        status = ParseAgentRecord(change, &parsed[i].gone.emplace());
        break;
      case RecordKind::kRoles:
        if (!parsed[i].roles.ParseFromString(*change.record)) {
          status = absl::InvalidArgumentError(
              "registry: record 'roles' does not parse");
        }
        break;
    }
    if (!status.ok()) return status;
  }
  std::vector<RegistryChange> undo;
  undo.reserve(changes.size());
  for (size_t i = 0; i < changes.size(); ++i) {
    const RegistryChange& change = changes[i];
    switch (change.kind) {
      case RecordKind::kAgent:
        undo.push_back(Swap(&agents_, change, std::move(parsed[i].agent)));
        break;
      case RecordKind::kUnreachable:
        undo.push_back(
            Swap(&unreachable_, change, std::move(parsed[i].unreachable)));
        break;
      case RecordKind::kGone:
        undo.push_back(Swap(&gone_, change, std::move(parsed[i].gone)));
        break;
      case RecordKind::kRoles:
        undo.push_back({RecordKind::kRoles, "", roles_.SerializeAsString()});
        roles_ = std::move(parsed[i].roles);  // Removal clears it.
        break;
    }
  }
  std::reverse(undo.begin(), undo.end());
  return undo;
}

internal::Registry RegistryRecords::ToRegistry() const {
  internal::Registry state;
  state.mutable_agents()->Reserve(static_cast<int>(agents_.size()));
  for (const auto& [id, agent] : agents_) *state.add_agents() = agent;
  AddByTime(unreachable_, state.mutable_unreachable());
  AddByTime(gone_, state.mutable_gone());
  *state.mutable_weights() = roles_.weights();
  *state.mutable_quota_configs() = roles_.quota_configs();
  return state;
}

std::unique_ptr<Registry> NewInMemoryRegistry() {
  return std::make_unique<InMemoryRegistry>();
}

std::unique_ptr<Registry> NewLocalRegistry(std::string path) {
  return std::make_unique<LocalRegistry>(std::move(path));
}

}  // namespace agora
