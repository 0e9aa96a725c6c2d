#include "master/http_endpoints.h"

#include <map>
#include <optional>
#include <string>

namespace agora {
namespace {

HttpResponse Unavailable() {
  return HttpResponse{503, "text/plain", "master did not answer in time"};
}

}  // namespace

void AddMasterEndpoints(HttpServer* server, EventLoop* loop, Master* master) {
  HttpServer::Handler health = [](const httplib::Request&) {
    return HttpResponse{200, "text/plain", ""};
  };
  server->Get("/health", health);
  server->Get("/master/health", health);

  HttpServer::Handler state = [loop, master](const httplib::Request&) {
    std::optional<nlohmann::json> json = RunOnLoop<nlohmann::json>(
        loop, [master] { return master->StateJson(); });
    if (!json.has_value()) return Unavailable();
    return HttpResponse{200, "application/json", json->dump()};
  };
  server->Get("/state", state);
  server->Get("/master/state", state);
  server->Get("/state.json", state);

  HttpServer::Handler frameworks = [loop, master](const httplib::Request&) {
    std::optional<nlohmann::json> json = RunOnLoop<nlohmann::json>(
        loop, [master] { return master->FrameworksJson(); });
    if (!json.has_value()) return Unavailable();
    return HttpResponse{200, "application/json", json->dump()};
  };
  server->Get("/frameworks", frameworks);
  server->Get("/master/frameworks", frameworks);

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
