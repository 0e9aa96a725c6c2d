// EventLoop: one thread that owns a daemon's mutable state. Everything else
// (gRPC handlers, HTTP handlers, child reapers, timers) reaches that state by
// posting a closure with Post(); Post() and PostAfter() are the only
// thread-safe methods besides Stop().
//
// Time comes from a Clock. With the real clock the loop runs on its own
// thread (Start()/Stop()). Tests use a ManualClock and drive the loop from
// the test thread with RunUntilIdle() and AdvanceTime(): no sleeps.
#ifndef AGORA_COMMON_EVENT_LOOP_H_
#define AGORA_COMMON_EVENT_LOOP_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace agora {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The wall clock.
class RealClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  static RealClock* Get();
};

// A clock that moves only when told to. Thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(absl::Time start = absl::FromUnixSeconds(1700000000))
      : now_(start) {}
  absl::Time Now() const override;
  void Advance(absl::Duration d);

 private:
  mutable std::mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

class EventLoop {
 public:
  using TimerId = uint64_t;

  // `clock` must outlive the loop.
  explicit EventLoop(std::string name, Clock* clock = RealClock::Get());
  ~EventLoop();  // Stops the thread if running; pending closures are dropped.

  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs closures on a new thread until Stop(). Real-clock mode only.
  void Start();
  // Stops and joins the loop thread. Callable from any thread but the loop's.
  void Stop();

  // Thread-safe. Runs `fn` on the loop, after closures posted before it.
  void Post(std::function<void()> fn);
  // Thread-safe. Runs `fn` on the loop once `delay` has passed on the clock.
  TimerId PostAfter(absl::Duration delay, std::function<void()> fn);
  // Loop thread only. A cancelled timer never runs; unknown ids are ignored.
  void Cancel(TimerId id);

  // True on the loop thread (or, in manual mode, inside RunUntilIdle()).
  bool IsLoopThread() const;
  absl::Time Now() const { return clock_->Now(); }
  Clock* clock() const { return clock_; }
  const std::string& name() const { return name_; }

  // Manual mode: runs every ready closure and due timer on the calling
  // thread until none is left. Returns how many ran.
  int RunUntilIdle();
  // Manual mode: advances `clock` (which must be a ManualClock) by `d`, running
  // timers in order as their time comes, then everything that became ready.
  void AdvanceTime(ManualClock* clock, absl::Duration d);

 private:
  struct Timer {
    TimerId id;
    std::function<void()> fn;
  };

  bool RunOneReady();  // Returns false when nothing was ready.
  void ThreadMain();

  const std::string name_;
  Clock* const clock_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> ready_ ABSL_GUARDED_BY(mu_);
  std::multimap<absl::Time, Timer> timers_ ABSL_GUARDED_BY(mu_);
  TimerId next_timer_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::thread thread_;
  std::atomic<std::thread::id> loop_thread_id_{};
};

}  // namespace agora

#endif  // AGORA_COMMON_EVENT_LOOP_H_
