#include "master/registry.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/event_loop.h"
#include "common/file_util.h"
#include "common/status_macros.h"
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

// Appends field `field` (a length-delimited message) holding `bytes`, as
// protobuf encodes a repeated message field.
void AppendField(int field, const std::string& bytes, std::string* out) {
  out->push_back(static_cast<char>((field << 3) | 2));  // Fields 1..15.
  uint64_t size = bytes.size();
  while (size >= 0x80) {
    out->push_back(static_cast<char>((size & 0x7f) | 0x80));
    size >>= 7;
  }
  out->push_back(static_cast<char>(size));
  out->append(bytes);
}

// The back-end's error for a failed file operation (the registry's
// contract: Unavailable, naming the file and the cause).
absl::Status Unavailable(const absl::Status& error) {
  return absl::UnavailableError(absl::StrCat("registry: ", error.message()));
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
    absl::Status made = CreateDirectories(DirName(path_));
    if (!made.ok()) return Unavailable(made);
    absl::StatusOr<std::string> data = ReadFile(path_);
    if (absl::IsNotFound(data.status())) return internal::Registry();
    if (!data.ok()) return Unavailable(data.status());
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
    absl::Status written = WriteFileAtomically(path_, records_.Serialize());
    if (written.ok()) return written;
    // The undo holds records this copy serialized: it always applies.
    CHECK(records_.Apply(*undo).ok());
    return Unavailable(written);
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

namespace {

// `records` ordered by (time, id): Mesos's registry lists them in the order
// they were added, and pruning drops the oldest first.
template <typename Record>
std::vector<const Record*> ByTime(
    const std::map<std::string, Record>& records) {
  std::vector<const Record*> sorted;
  sorted.reserve(records.size());
  for (const auto& [id, record] : records) sorted.push_back(&record);
  std::stable_sort(
      sorted.begin(), sorted.end(),
      [](const Record* a, const Record* b) { return a->time_ns < b->time_ns; });
  return sorted;
}

// Parses `change`'s record; its time (unreachable, gone) in `time_ns`.
absl::Status CheckRecord(const RegistryChange& change,
                         RegistryState::Roles* roles, int64_t* time_ns) {
  switch (change.kind) {
    case RecordKind::kAgent: {
      RegistryState::Agent agent;
      return ParseAgentRecord(change, &agent);
    }
    case RecordKind::kUnreachable: {
      RegistryState::UnreachableAgent agent;
      AGORA_RETURN_IF_ERROR(ParseAgentRecord(change, &agent));
      *time_ns = agent.timestamp().nanoseconds();
      return absl::OkStatus();
    }
    case RecordKind::kGone: {
      RegistryState::GoneAgent agent;
      AGORA_RETURN_IF_ERROR(ParseAgentRecord(change, &agent));
      *time_ns = agent.timestamp().nanoseconds();
      return absl::OkStatus();
    }
    case RecordKind::kRoles:
      if (!roles->ParseFromString(*change.record)) {
        return absl::InvalidArgumentError(
            "registry: record 'roles' does not parse");
      }
      return absl::OkStatus();
  }
  return absl::InternalError("registry: unknown record kind");
}

}  // namespace

absl::Status RegistryRecords::Load(const RegistryState& state) {
  *this = RegistryRecords();
  for (const RegistryState::Agent& agent : state.agents()) {
    if (IdOf(agent).empty()) {
      return absl::InvalidArgumentError("an admitted agent has no id");
    }
    agents_[IdOf(agent)] = Record{agent.SerializeAsString(), 0};
  }
  for (const RegistryState::UnreachableAgent& agent : state.unreachable()) {
    unreachable_[IdOf(agent)] =
        Record{agent.SerializeAsString(), agent.timestamp().nanoseconds()};
  }
  for (const RegistryState::GoneAgent& agent : state.gone()) {
    gone_[IdOf(agent)] =
        Record{agent.SerializeAsString(), agent.timestamp().nanoseconds()};
  }
  *roles_.mutable_weights() = state.weights();
  *roles_.mutable_quota_configs() = state.quota_configs();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RegistryChange>> RegistryRecords::Apply(
    const std::vector<RegistryChange>& changes) {
  // Every record parses before anything changes.
  std::vector<int64_t> times(changes.size(), 0);
  std::vector<RegistryState::Roles> roles(changes.size());
  for (size_t i = 0; i < changes.size(); ++i) {
    if (!changes[i].record.has_value()) continue;
    AGORA_RETURN_IF_ERROR(CheckRecord(changes[i], &roles[i], &times[i]));
  }
  std::vector<RegistryChange> undo;
  undo.reserve(changes.size());
  for (size_t i = 0; i < changes.size(); ++i) {
    const RegistryChange& change = changes[i];
    if (change.kind == RecordKind::kRoles) {
      undo.push_back({RecordKind::kRoles, "", roles_.SerializeAsString()});
      roles_ = std::move(roles[i]);  // Removal clears it.
      continue;
    }
    std::map<std::string, Record>* records =
        change.kind == RecordKind::kAgent         ? &agents_
        : change.kind == RecordKind::kUnreachable ? &unreachable_
                                                  : &gone_;
    RegistryChange previous{change.kind, change.agent_id, std::nullopt};
    auto it = records->find(change.agent_id);
    if (it != records->end()) {
      previous.record = std::move(it->second.bytes);
      records->erase(it);
    }
    if (change.record.has_value()) {
      (*records)[change.agent_id] = Record{*change.record, times[i]};
    }
    undo.push_back(std::move(previous));
  }
  std::reverse(undo.begin(), undo.end());
  return undo;
}

internal::Registry RegistryRecords::ToRegistry() const {
  RegistryState state;
  CHECK(state.ParseFromString(Serialize()));  // Each record was checked.
  return state;
}

std::string RegistryRecords::Serialize() const {
  std::string out;
  for (const auto& [id, record] : agents_) AppendField(1, record.bytes, &out);
  for (const Record* record : ByTime(unreachable_)) {
    AppendField(2, record->bytes, &out);
  }
  for (const Record* record : ByTime(gone_))
    AppendField(3, record->bytes, &out);
  for (const auto& weight : roles_.weights()) {
    AppendField(6, weight.SerializeAsString(), &out);
  }
  for (const auto& quota : roles_.quota_configs()) {
    AppendField(11, quota.SerializeAsString(), &out);
  }
  return out;
}

std::unique_ptr<Registry> NewInMemoryRegistry() {
  return std::make_unique<InMemoryRegistry>();
}

std::unique_ptr<Registry> NewLocalRegistry(std::string path) {
  return std::make_unique<LocalRegistry>(std::move(path));
}

}  // namespace agora
