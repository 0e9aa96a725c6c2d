// Internal to the zookeeper module: the C client's side of the real
// zk::ZooKeeper (zookeeper_client.cc): error codes, conversions, and the C
// callbacks, which hand results to a CallSink (the client) from the C
// client's own threads.
//
// Thread rule: the callbacks run on the C client's threads and only call
// the CallSink, whose methods are thread-safe.
#ifndef AGORA_ZOOKEEPER_C_CLIENT_H_
#define AGORA_ZOOKEEPER_C_CLIENT_H_

// The C client's header, by its own directory: "zookeeper/zookeeper.h" is
// ours.
#include <zookeeper.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "zookeeper/zookeeper.h"

namespace agora {
namespace zk {
namespace internal {

// The canonical code for a ZooKeeper error, with `what` ("create '/a'")
// and ZooKeeper's words in the message.
absl::Status ErrorFromRc(int rc, absl::string_view what);
Stat StatFromC(const ::Stat* s);
// kEphemeral/kSequence flags -> ZOO_* create mode.
int CreateMode(int flags);
// The C client's log callback: into glog as WARNING, at most a line a
// second.
void LogToGlog(const char* message);

// Where the C callbacks deliver; implemented by the client. Thread-safe.
class CallSink {
 public:
  // Runs `fn` on the client's dispatch thread, in order.
  virtual void Dispatch(std::function<void()> fn) = 0;
  // The watch registered under `id` fired / will never fire.
  virtual void FireWatch(uint64_t id) = 0;
  virtual void ForgetWatch(uint64_t id) = 0;
  // A session event of the handle opened as `generation`; `session_id` and
  // the negotiated `timeout_ms` are set for ZOO_CONNECTED_STATE.
  virtual void OnHandleEvent(uint64_t generation, int state, int64_t session_id,
                             int timeout_ms) = 0;

 protected:
  ~CallSink() = default;
};

// The context of one C handle (zookeeper_init's); outlives the handle.
struct HandleContext {
  CallSink* sink = nullptr;
  uint64_t generation = 0;
};

// The context of one asynchronous call; its completion frees it.
struct Call {
  CallSink* sink = nullptr;
  std::string what;       // "create '/a'", for messages.
  uint64_t watch_id = 0;  // The watch the call sets, if any.
  virtual ~Call() = default;
  // Answers the caller with `status` (the call failed).
  virtual void Fail(absl::Status status) = 0;
};

template <typename T>
struct TypedCall : Call {
  std::function<void(T)> done;
  void Fail(absl::Status status) override {
    sink->Dispatch([done = std::move(done), status] { done(T(status)); });
  }
};

// A Multi's ops and the buffers the C client fills at completion.
struct MultiCall : TypedCall<absl::Status> {
  std::vector<Op> ops;
  std::vector<zoo_op_t> c_ops;
  std::vector<zoo_op_result_t> results;
  std::vector<std::string> created_paths;
};

// The watcher context for the watch registered under `id` (never a
// pointer: the C client may drop a watch without calling it).
void* WatchContext(uint64_t id);

// C callbacks. SessionWatcher is zookeeper_init's (context: HandleContext);
// CallWatcher is every zoo_aw* call's (context: WatchContext); the On*
// completions take their Call (data) and free it.
void SessionWatcher(zhandle_t* zh, int type, int state, const char* path,
                    void* context);
void CallWatcher(zhandle_t* zh, int type, int state, const char* path,
                 void* context);
void OnCreated(int rc, const char* value, const void* data);
void OnDone(int rc, const void* data);
void OnSynced(int rc, const char* value, const void* data);
void OnData(int rc, const char* value, int value_len, const ::Stat* stat,
            const void* data);
void OnChildren(int rc, const ::String_vector* strings, const void* data);
void OnExists(int rc, const ::Stat* stat, const void* data);
void OnMulti(int rc, const void* data);

}  // namespace internal
}  // namespace zk
}  // namespace agora

#endif  // AGORA_ZOOKEEPER_C_CLIENT_H_
