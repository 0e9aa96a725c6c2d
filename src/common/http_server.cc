#include "common/http_server.h"

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "httplib.h"

namespace agora {

HttpServer::HttpServer() : server_(std::make_unique<httplib::Server>()) {}

HttpServer::~HttpServer() { Stop(); }

namespace {

void Fill(const HttpResponse& out, httplib::Response& res) {
  res.status = out.status;
  for (const auto& [name, value] : out.headers) res.set_header(name, value);
  res.set_content(out.body, out.content_type.c_str());
}

httplib::Server::Handler Wrap(HttpServer::Handler handler) {
  return [handler = std::move(handler)](const httplib::Request& req,
                                        httplib::Response& res) {
    Fill(handler(req), res);
  };
}

// The query string of `target` ("/path?a=b" -> "a=b").
std::string QueryOf(const std::string& target) {
  size_t mark = target.find('?');
  return mark == std::string::npos ? "" : target.substr(mark + 1);
}

}  // namespace

void HttpServer::SetGate(Gate gate) {
  server_->set_pre_routing_handler(
      [gate = std::move(gate)](const httplib::Request& req,
                               httplib::Response& res) {
        std::optional<HttpResponse> out = gate(req.path, QueryOf(req.target));
        if (!out.has_value())
          return httplib::Server::HandlerResponse::Unhandled;
        Fill(*out, res);
        return httplib::Server::HandlerResponse::Handled;
      });
}

void HttpServer::Get(const std::string& path, Handler handler) {
  server_->Get(path, Wrap(std::move(handler)));
}

void HttpServer::Post(const std::string& path, Handler handler) {
  server_->Post(path, Wrap(std::move(handler)));
}

absl::StatusOr<int> HttpServer::Start(const std::string& ip, int port) {
  int bound = port;
  if (port == 0) {
    bound = server_->bind_to_any_port(ip);
  } else if (!server_->bind_to_port(ip, port)) {
    bound = -1;
  }
  if (bound <= 0) {
    return absl::UnavailableError(
        absl::StrCat("failed to bind HTTP on ", ip, ":", port));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // httplib's stop() does nothing until the listening thread has marked the
  // server running; a Stop() before that (a short test on a loaded machine)
  // would leave the thread in accept() and Stop() joining it forever.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!server_->is_running() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return bound;
}

void HttpServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace agora
