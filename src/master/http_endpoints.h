// The master's read-only HTTP endpoints: /health (and /master/health),
// /state (and /master/state) and /frameworks (and /master/frameworks) in
// Mesos's shape, /metrics/snapshot with
// Mesos's metric keys. Handlers run on HTTP threads and read the master
// through RunOnLoop; 503 when the loop does not answer in time.
#ifndef AGORA_MASTER_HTTP_ENDPOINTS_H_
#define AGORA_MASTER_HTTP_ENDPOINTS_H_

#include "common/event_loop.h"
#include "common/http_server.h"
#include "master/master.h"

namespace agora {

// Registers the routes on `server` (before it starts). `loop` and `master`
// must outlive the server.
void AddMasterEndpoints(HttpServer* server, EventLoop* loop, Master* master);

}  // namespace agora

#endif  // AGORA_MASTER_HTTP_ENDPOINTS_H_
