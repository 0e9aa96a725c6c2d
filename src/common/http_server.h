// HttpServer: the read-only HTTP side of a daemon (cpp-httplib on its own
// threads). Handlers run on HTTP threads; to read domain state they use
// RunOnLoop(), which posts to the daemon's loop and waits for the answer.
#ifndef AGORA_COMMON_HTTP_SERVER_H_
#define AGORA_COMMON_HTTP_SERVER_H_

#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/event_loop.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace agora {

struct HttpResponse {
  HttpResponse(int status = 200, std::string content_type = "application/json",
               std::string body = "")
      : status(status),
        content_type(std::move(content_type)),
        body(std::move(body)) {}

  int status;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // Extra ones.
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const httplib::Request&)>;

  HttpServer();
  ~HttpServer();  // Stops the server.

  // Register before Start().
  void Get(const std::string& path, Handler handler);
  void Post(const std::string& path, Handler handler);
  // Asked before routing, for every request: an answer here is sent
  // instead of the route's (a standby master's redirect). `path` is the
  // request's path, `query` its query string without '?'.
  using Gate = std::function<std::optional<HttpResponse>(
      const std::string& path, const std::string& query)>;
  void SetGate(Gate gate);

  // Binds `ip:port` (port 0 picks a free one) and serves on a new thread.
  // Returns the bound port, or Unavailable naming the address.
  absl::StatusOr<int> Start(const std::string& ip, int port);
  void Stop();

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

// Runs `fn` on `loop` and returns its result, or nullopt when the loop did
// not answer within `timeout` (the caller answers 503).
template <typename T>
std::optional<T> RunOnLoop(EventLoop* loop, std::function<T()> fn,
                           absl::Duration timeout = absl::Seconds(10)) {
  auto promise = std::make_shared<std::promise<T>>();
  std::future<T> future = promise->get_future();
  loop->Post([promise, fn = std::move(fn)] { promise->set_value(fn()); });
  if (future.wait_for(absl::ToChronoNanoseconds(timeout)) !=
      std::future_status::ready) {
    return std::nullopt;
  }
  return future.get();
}

// Runs `start` on `loop`, giving it a callback that delivers the result
// (from the loop, at once or later, at most once); returns the result, or
// nullopt when it did not come within `timeout` (the caller answers 503).
template <typename T>
std::optional<T> AwaitOnLoop(EventLoop* loop,
                             std::function<void(std::function<void(T)>)> start,
                             absl::Duration timeout = absl::Seconds(10)) {
  auto promise = std::make_shared<std::promise<T>>();
  std::future<T> future = promise->get_future();
  loop->Post([promise, start = std::move(start)] {
    start([promise](T result) { promise->set_value(std::move(result)); });
  });
  if (future.wait_for(absl::ToChronoNanoseconds(timeout)) !=
      std::future_status::ready) {
    return std::nullopt;
  }
  return future.get();
}

}  // namespace agora

#endif  // AGORA_COMMON_HTTP_SERVER_H_
