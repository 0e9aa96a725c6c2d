// The value types of zookeeper.h: Op, SessionState names, the request-size
// rule, and the --zk URL.
#include "zookeeper/zookeeper.h"

#include <utility>

namespace agora {
namespace zk {

const char* SessionStateName(SessionState state) {
  switch (state) {
    case SessionState::kConnecting:
      return "connecting";
    case SessionState::kConnected:
      return "connected";
    case SessionState::kExpired:
      return "expired";
  }
  return "unknown";
}

Op Op::Create(std::string path, std::string data, int flags) {
  Op op;
  op.kind = Kind::kCreate;
  op.path = std::move(path);
  op.data = std::move(data);
  op.flags = flags;
  return op;
}

Op Op::Delete(std::string path, int32_t version) {
  Op op;
  op.kind = Kind::kDelete;
  op.path = std::move(path);
  op.version = version;
  return op;
}

Op Op::SetData(std::string path, std::string data, int32_t version) {
  Op op;
  op.kind = Kind::kSetData;
  op.path = std::move(path);
  op.data = std::move(data);
  op.version = version;
  return op;
}

Op Op::Check(std::string path, int32_t version) {
  Op op;
  op.kind = Kind::kCheck;
  op.path = std::move(path);
  op.version = version;
  return op;
}

size_t RequestBytes(const Op& op) {
  return op.path.size() + op.data.size() + kOpOverheadBytes;
}

size_t RequestBytes(const std::vector<Op>& ops) {
  size_t total = 0;
  for (const Op& op : ops) total += RequestBytes(op);
  return total;
}

}  // namespace zk
}  // namespace agora
