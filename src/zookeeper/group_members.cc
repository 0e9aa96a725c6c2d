#include "zookeeper/group_members.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace agora {
namespace zk {
namespace internal {

std::vector<Member> SortedMembers(const std::vector<std::string>& children) {
  std::vector<Member> members;
  for (const std::string& name : children) {
    if (std::optional<int64_t> sequence = MemberSequence(name)) {
      members.push_back({*sequence, name});
    }
  }
  std::sort(
      members.begin(), members.end(),
      [](const Member& a, const Member& b) { return a.sequence < b.sequence; });
  return members;
}

MemberReader::MemberReader(ZooKeeper* zk, std::string path, EventLoop* loop)
    : zk_(zk), path_(std::move(path)), loop_(loop) {}

void MemberReader::FindFirstValid(
    std::vector<Member> members,
    std::function<void(absl::StatusOr<Found>)> done) {
  auto search = std::make_shared<Search>();
  search->members = std::move(members);
  search->generation = generation_;
  search->done = std::move(done);
  Next(std::move(search));
}

void MemberReader::Forget() {
  ++generation_;
  records_.clear();
}

void MemberReader::Next(std::shared_ptr<Search> search) {
  while (search->next < search->members.size()) {
    const Member& member = search->members[search->next];
    auto known = records_.find(member.name);
    if (known == records_.end()) {
      std::function<void(MemberReader*, std::shared_ptr<Search>,
                         absl::StatusOr<std::pair<std::string, Stat>>)>
          on_read = [](MemberReader* self, std::shared_ptr<Search> s,
                       absl::StatusOr<std::pair<std::string, Stat>> data) {
            self->OnRead(std::move(s), std::move(data));
          };
      auto callback = OnLoop(loop_, weak_from_this(), on_read);
      zk_->Get(absl::StrCat(path_, "/", member.name),
               [callback,
                search](absl::StatusOr<std::pair<std::string, Stat>> data) {
                 callback(search, std::move(data));
               });
      return;
    }
    if (known->second.record.has_value()) {
      Member found = member;
      found.owner = known->second.owner;
      return search->done(Found(std::make_pair(found, *known->second.record)));
    }
    ++search->next;
  }
  search->done(Found());
}

void MemberReader::OnRead(std::shared_ptr<Search> search,
                          absl::StatusOr<std::pair<std::string, Stat>> data) {
  const Member& member = search->members[search->next];
  if (!data.ok()) {
    if (absl::IsNotFound(data.status())) {
      ++search->next;  // Gone meanwhile; the group's watch will tell.
      return Next(std::move(search));
    }
    return search->done(data.status());
  }
  absl::StatusOr<MasterRecord> record = MasterRecordFromJson(data->first);
  if (!record.ok()) {
    LOG(WARNING) << "master group " << path_ << ": skipping member "
                 << member.name << ": " << record.status().message();
  }
  const int64_t owner = data->second.ephemeral_owner;
  if (search->generation == generation_) {
    records_[member.name] =
        Read{record.ok() ? std::optional<MasterRecord>(*record) : std::nullopt,
             owner};
  }
  if (record.ok()) {
    Member found = member;
    found.owner = owner;
    return search->done(Found(std::make_pair(found, *record)));
  }
  ++search->next;
  Next(std::move(search));
}

}  // namespace internal
}  // namespace zk
}  // namespace agora
