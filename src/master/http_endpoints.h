// The master's read-only HTTP endpoints, each also under /master/: /health,
// /state, /frameworks, /slaves, /tasks and /roles in Mesos's shapes, and
// /metrics/snapshot with Mesos's metric keys; and POST /api/v1, the operator
// API over HTTP (the calls of agora.v1.Operator/Call, Mesos's media-type
// rules in common/proto_http.h). Handlers run on HTTP threads:
// the state endpoints take a Master::Snapshot() through RunOnLoop (the only
// work on the loop) and render it on the HTTP thread; 503 when the loop
// does not answer in time.
#ifndef AGORA_MASTER_HTTP_ENDPOINTS_H_
#define AGORA_MASTER_HTTP_ENDPOINTS_H_

#include "common/event_loop.h"
#include "common/http_server.h"
#include "master/leadership.h"
#include "master/master.h"

namespace agora {

// Registers the routes on `server` (before it starts). `loop` and `master`
// must outlive the server.
void AddMasterEndpoints(HttpServer* server, EventLoop* loop, Master* master,
                        const Leadership* leadership);

}  // namespace agora

#endif  // AGORA_MASTER_HTTP_ENDPOINTS_H_
