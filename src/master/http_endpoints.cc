#include "master/http_endpoints.h"

#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "common/json_dump.h"
#include "common/proto_http.h"
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

// Concurrent state requests share one snapshot, as long as it is taken after
// each of them arrived (Mesos batches its read-only requests the same way):
// a request joins the pending snapshot unless the loop has already started
// taking it, otherwise it asks for a new one.
class SnapshotSource : public std::enable_shared_from_this<SnapshotSource> {
 public:
  SnapshotSource(EventLoop* loop, Master* master)
      : loop_(loop), master_(master) {}

  // Null when the loop did not answer within `timeout`.
  std::shared_ptr<const StateSnapshot> Get(absl::Duration timeout) {
    std::shared_future<std::shared_ptr<const StateSnapshot>> future;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (pending_ == nullptr || pending_->started) {
        pending_ = std::make_shared<Pending>();
        pending_->future = pending_->promise.get_future().share();
        loop_->Post([self = shared_from_this(), pending = pending_] {
          self->Take(pending);
        });
      }
      future = pending_->future;
    }
    if (future.wait_for(absl::ToChronoNanoseconds(timeout)) !=
        std::future_status::ready) {
      return nullptr;
    }
    return future.get();
  }

 private:
  struct Pending {
    bool started = false;  // Guarded by SnapshotSource::mu_.
    std::promise<std::shared_ptr<const StateSnapshot>> promise;
    std::shared_future<std::shared_ptr<const StateSnapshot>> future;
  };

  // On the loop.
  void Take(const std::shared_ptr<Pending>& pending) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending->started = true;
    }
    pending->promise.set_value(master_->Snapshot());
  }

  EventLoop* const loop_;
  Master* const master_;
  std::mutex mu_;
  std::shared_ptr<Pending> pending_ ABSL_GUARDED_BY(mu_);
};

// A handler that gets a snapshot (the only work done on the loop) and
// renders it with `render` on the HTTP thread.
using Render = std::function<nlohmann::json(const StateSnapshot&,
                                            const httplib::Request&)>;
HttpServer::Handler SnapshotHandler(std::shared_ptr<SnapshotSource> source,
                                    Render render) {
  return [source, render](const httplib::Request& request) {
    std::shared_ptr<const StateSnapshot> snapshot =
        source->Get(absl::Seconds(10));
    if (snapshot == nullptr) return Unavailable();
    return HttpResponse{200, "application/json",
                        DumpJson(render(*snapshot, request))};
  };
}

void Route(HttpServer* server, const std::string& path,
           HttpServer::Handler handler) {
  server->Get(path, handler);
  server->Get("/master" + path, handler);
}

// How long an operator call may take before the HTTP answer is 503: longer
// than the default --registry_store_timeout (20 s), after which a master
// whose registry write hangs exits anyway.
constexpr absl::Duration kOperatorCallTimeout = absl::Seconds(60);

// POST /api/v1 (and /master/api/v1): the operator API of
// agora.v1.Operator/Call over HTTP (common/proto_http.h), dispatched on the
// loop through Master::HandleOperatorCall, answered when it completes.
void AddOperatorApi(HttpServer* server, EventLoop* loop, Master* master) {
  using mesos::v1::master::Call;
  using mesos::v1::master::Response;
  using Result = absl::StatusOr<Response>;
  HttpServer::Handler api = [loop, master](const httplib::Request& req) {
    return ServeProtoApi<Call, Response>(
        ProtoHttpRequestOf(req), [loop, master](const Call& call) {
          return AwaitOnLoop<Result>(
              loop,
              [master, call](std::function<void(Result)> done) {
                master->HandleOperatorCall(call, std::move(done));
              },
              kOperatorCallTimeout);
        });
  };
  HttpServer::Handler get = [](const httplib::Request&) {
    return HttpResponse{405, "text/plain", "expecting 'POST' for /api/v1"};
  };
  for (const char* path : {"/api/v1", "/master/api/v1"}) {
    server->Post(path, api);
    server->Get(path, get);
  }
}

}  // namespace

void AddMasterEndpoints(HttpServer* server, EventLoop* loop, Master* master,
                        const Leadership* leadership) {
  HttpServer::Handler health = [](const httplib::Request&) {
    return HttpResponse{200, "text/plain", ""};
  };
  Route(server, "/health", health);
  Route(server, "/redirect", [leadership](const httplib::Request&) {
    return leadership->Redirect();
  });

  auto source = std::make_shared<SnapshotSource>(loop, master);
  HttpServer::Handler state = SnapshotHandler(
      source, [](const StateSnapshot& s, const httplib::Request&) {
        return RenderState(s);
      });
  Route(server, "/state", state);
  Route(server, "/state.json", state);
  Route(server, "/frameworks",
        SnapshotHandler(source,
                        [](const StateSnapshot& s, const httplib::Request& r) {
                          return RenderFrameworks(s, Param(r, "framework_id"));
                        }));
  Route(server, "/slaves",
        SnapshotHandler(source,
                        [](const StateSnapshot& s, const httplib::Request& r) {
                          return RenderAgents(s, Param(r, "slave_id"));
                        }));
  Route(server, "/tasks",
        SnapshotHandler(source,
                        [](const StateSnapshot& s, const httplib::Request& r) {
                          return RenderTasks(s, TaskQueryOf(r));
                        }));
  Route(server, "/roles",
        SnapshotHandler(source,
                        [](const StateSnapshot& s, const httplib::Request&) {
                          return RenderRoles(s);
                        }));

  AddOperatorApi(server, loop, master);

  server->Get("/metrics/snapshot", [loop, master](const httplib::Request&) {
    std::optional<std::map<std::string, double>> metrics =
        RunOnLoop<std::map<std::string, double>>(
            loop, [master] { return master->MetricsSnapshot(); });
    if (!metrics.has_value()) return Unavailable();
    return HttpResponse{200, "application/json",
                        DumpJson(nlohmann::json(*metrics))};
  });
}

}  // namespace agora
