// The value types of zookeeper.h: Op, SessionState names, the request-size
// rule, and the --zk URL.
#include "zookeeper/zookeeper.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace agora {
namespace zk {
namespace {

constexpr absl::string_view kZkScheme = "zk://";
constexpr absl::string_view kFileScheme = "file://";

// The value as it may appear in a message: the password hidden.
std::string Redacted(absl::string_view value) {
  size_t at = value.rfind('@');
  size_t colon = value.find(':', kZkScheme.size());
  if (!absl::StartsWith(value, kZkScheme) || at == absl::string_view::npos ||
      colon == absl::string_view::npos || colon > at) {
    return std::string(value);
  }
  return absl::StrCat(value.substr(0, colon + 1), "***", value.substr(at));
}

absl::Status BadUrl(absl::string_view value, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("ZooKeeper URL '", Redacted(value), "': ", why));
}

absl::Status ParseServers(absl::string_view value, absl::string_view hosts,
                          std::vector<std::string>* servers) {
  if (hosts.empty()) return BadUrl(value, "no host:port given");
  for (absl::string_view server : absl::StrSplit(hosts, ',')) {
    size_t colon = server.rfind(':');
    int port = 0;
    if (colon == absl::string_view::npos || colon == 0) {
      return BadUrl(value,
                    absl::StrCat("server '", server, "' is not host:port"));
    }
    if (!absl::SimpleAtoi(server.substr(colon + 1), &port) || port <= 0 ||
        port > 65535) {
      return BadUrl(value, absl::StrCat("server '", server,
                                        "' has no valid port (1-65535)"));
    }
    for (char c : server) {
      if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
        return BadUrl(value,
                      absl::StrCat("server '", server, "' holds whitespace"));
      }
    }
    servers->push_back(std::string(server));
  }
  return absl::OkStatus();
}

// "/a//b/" -> "/a/b"; the root alone, "." and ".." are refused.
absl::StatusOr<std::string> NormalizePath(absl::string_view value,
                                          absl::string_view path) {
  std::string normalized;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (part == "." || part == "..") {
      return BadUrl(value, "the path may not hold '.' or '..'");
    }
    absl::StrAppend(&normalized, "/", part);
  }
  if (normalized.empty()) {
    return BadUrl(value,
                  "the path must name a znode below the root, as in "
                  "zk://host:2181/agora");
  }
  return normalized;
}

absl::StatusOr<Url> ParseZkUrl(absl::string_view value) {
  if (!absl::StartsWith(value, kZkScheme)) {
    return BadUrl(value,
                  "expected zk://[user:password@]host:port[,host:port...]/path"
                  " or file:///path/to/a/file/holding/it");
  }
  absl::string_view rest = value.substr(kZkScheme.size());
  size_t slash = rest.find('/');
  if (slash == absl::string_view::npos) {
    return BadUrl(value, "no znode path, as in zk://host:2181/agora");
  }
  absl::string_view authority = rest.substr(0, slash);
  Url url;
  size_t at = authority.rfind('@');
  if (at != absl::string_view::npos) {
    absl::string_view credentials = authority.substr(0, at);
    size_t colon = credentials.find(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return BadUrl(value, "credentials must be user:password");
    }
    url.credentials = std::string(credentials);
    authority = authority.substr(at + 1);
  }
  if (absl::Status s = ParseServers(value, authority, &url.servers); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::string> path = NormalizePath(value, rest.substr(slash));
  if (!path.ok()) return path.status();
  url.path = *std::move(path);
  return url;
}

absl::StatusOr<std::string> ReadUrlFile(absl::string_view value,
                                        const std::string& file) {
  std::ifstream in(file);
  if (!in) {
    int error = errno;
    std::string message =
        absl::StrCat("ZooKeeper URL '", value, "': failed to read '", file,
                     "': ", std::strerror(error));
    if (error == ENOENT) return absl::NotFoundError(message);
    if (error == EACCES) return absl::PermissionDeniedError(message);
    return absl::InvalidArgumentError(message);
  }
  std::stringstream content;
  content << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(content.str()));
}

}  // namespace

std::string Url::ConnectString() const { return absl::StrJoin(servers, ","); }

std::string Url::ToString() const {
  return absl::StrCat(kZkScheme, ConnectString(), path);
}

absl::StatusOr<Url> ParseUrl(absl::string_view value) {
  value = absl::StripAsciiWhitespace(value);
  if (!absl::StartsWith(value, kFileScheme)) return ParseZkUrl(value);
  const std::string file(value.substr(kFileScheme.size()));
  if (file.empty() || file[0] != '/') {
    return BadUrl(value, "file:// needs an absolute path (file:///etc/zk)");
  }
  absl::StatusOr<std::string> content = ReadUrlFile(value, file);
  if (!content.ok()) return content.status();
  if (absl::StartsWith(*content, kFileScheme)) {
    return BadUrl(
        value, absl::StrCat("the file '", file, "' holds another file:// URL"));
  }
  absl::StatusOr<Url> url = ParseZkUrl(*content);
  if (!url.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ZooKeeper URL '", value, "': ", url.status().message()));
  }
  return url;
}

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
