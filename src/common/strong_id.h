// StrongId<Tag>: a string identifier that cannot be mixed up with another
// kind of id. Ordered and hashable, so it can key std::map and absl maps.
#ifndef AGORA_COMMON_STRONG_ID_H_
#define AGORA_COMMON_STRONG_ID_H_

#include <ostream>
#include <string>
#include <utility>

namespace agora {

template <typename Tag>
class StrongId {
 public:
  StrongId() = default;
  explicit StrongId(std::string value) : value_(std::move(value)) {}

  const std::string& value() const { return value_; }
  bool empty() const { return value_.empty(); }

  friend bool operator==(const StrongId& a, const StrongId& b) {
    return a.value_ == b.value_;
  }
  friend bool operator!=(const StrongId& a, const StrongId& b) {
    return a.value_ != b.value_;
  }
  friend bool operator<(const StrongId& a, const StrongId& b) {
    return a.value_ < b.value_;
  }
  template <typename H>
  friend H AbslHashValue(H h, const StrongId& id) {
    return H::combine(std::move(h), id.value_);
  }
  friend std::ostream& operator<<(std::ostream& os, const StrongId& id) {
    return os << id.value_;
  }

 private:
  std::string value_;
};

using FrameworkId = StrongId<struct FrameworkIdTag>;
using AgentId = StrongId<struct AgentIdTag>;

}  // namespace agora

#endif  // AGORA_COMMON_STRONG_ID_H_
