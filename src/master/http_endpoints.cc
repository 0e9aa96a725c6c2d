#include "master/http_endpoints.h"

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "httplib.h"
#include "master/state_snapshot.h"

namespace agora {
namespace {

HttpResponse Unavailable() {
  return HttpResponse{503, "text/plain", "master did not answer in time"};
}

std::optional<std::string> Param(const httplib::Request& request,
                                 const char* name) {
  if (!request.has_param(name)) return std::nullopt;
  return request.get_param_value(name);
}

// Mesos ignores a limit or offset that is not a number.
size_t SizeParam(const httplib::Request& request, const char* name,
                 size_t fallback) {
  size_t value = 0;
  std::optional<std::string> text = Param(request, name);
  return text.has_value() && absl::SimpleAtoi(*text, &value) ? value : fallback;
}

TaskQuery TaskQueryOf(const httplib::Request& request) {
  TaskQuery query;
  query.limit = SizeParam(request, "limit", query.limit);
  query.offset = SizeParam(request, "offset", query.offset);
  query.ascending =
      Param(request, "order") == std::optional<std::string>("asc");
  query.framework_id = Param(request, "framework_id");
  query.task_id = Param(request, "task_id");
  return query;
}

// A handler that takes a snapshot on the loop (the only work done there)
// and renders it with `render` on the HTTP thread.
using Render = std::function<nlohmann::json(const StateSnapshot&,
                                            const httplib::Request&)>;
HttpServer::Handler SnapshotHandler(EventLoop* loop, Master* master,
                                    Render render) {
  return [loop, master, render](const httplib::Request& request) {
    std::optional<std::shared_ptr<const StateSnapshot>> snapshot =
        RunOnLoop<std::shared_ptr<const StateSnapshot>>(
            loop, [master] { return master->Snapshot(); });
    if (!snapshot.has_value()) return Unavailable();
    return HttpResponse{200, "application/json",
                        render(**snapshot, request).dump()};
  };
}

void Route(HttpServer* server, const std::string& path,
           HttpServer::Handler handler) {
  server->Get(path, handler);
  server->Get("/master" + path, handler);
}

}  // namespace

void AddMasterEndpoints(HttpServer* server, EventLoop* loop, Master* master) {
  HttpServer::Handler health = [](const httplib::Request&) {
    return HttpResponse{200, "text/plain", ""};
  };
  Route(server, "/health", health);

  HttpServer::Handler state = SnapshotHandler(
      loop, master, [](const StateSnapshot& s, const httplib::Request&) {
        return RenderState(s);
      });
  Route(server, "/state", state);
  Route(server, "/state.json", state);
  Route(server, "/frameworks",
        SnapshotHandler(loop, master,
                        [](const StateSnapshot& s, const httplib::Request& r) {
                          return RenderFrameworks(s, Param(r, "framework_id"));
                        }));
  Route(server, "/slaves",
        SnapshotHandler(loop, master,
                        [](const StateSnapshot& s, const httplib::Request& r) {
                          return RenderAgents(s, Param(r, "slave_id"));
                        }));
  Route(server, "/tasks",
        SnapshotHandler(loop, master,
                        [](const StateSnapshot& s, const httplib::Request& r) {
                          return RenderTasks(s, TaskQueryOf(r));
                        }));
  Route(server, "/roles",
        SnapshotHandler(loop, master,
                        [](const StateSnapshot& s, const httplib::Request&) {
                          return RenderRoles(s);
                        }));

  server->Get("/metrics/snapshot", [loop, master](const httplib::Request&) {
    std::optional<std::map<std::string, double>> metrics =
        RunOnLoop<std::map<std::string, double>>(
            loop, [master] { return master->MetricsSnapshot(); });
    if (!metrics.has_value()) return Unavailable();
    return HttpResponse{200, "application/json",
                        nlohmann::json(*metrics).dump()};
  });
}

}  // namespace agora
