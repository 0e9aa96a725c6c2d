#include "common/event_loop.h"

#include "glog/logging.h"

namespace agora {

RealClock* RealClock::Get() {
  static RealClock* clock = new RealClock();
  return clock;
}

absl::Time ManualClock::Now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

void ManualClock::Advance(absl::Duration d) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ += d;
}

EventLoop::EventLoop(std::string name, Clock* clock)
    : name_(std::move(name)), clock_(clock) {}

EventLoop::~EventLoop() {
  if (thread_.joinable()) Stop();
}

void EventLoop::Start() {
  CHECK(!thread_.joinable()) << "event loop '" << name_ << "' already started";
  thread_ = std::thread([this] { ThreadMain(); });
}

void EventLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EventLoop::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ready_.push_back(std::move(fn));
  }
  cv_.notify_one();
}

EventLoop::TimerId EventLoop::PostAfter(absl::Duration delay,
                                        std::function<void()> fn) {
  TimerId id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_timer_id_++;
    timers_.emplace(clock_->Now() + delay, Timer{id, std::move(fn)});
  }
  cv_.notify_one();
  return id;
}

void EventLoop::Cancel(TimerId id) {
  std::lock_guard<std::mutex> lock(mu_);
  // Timers are few per daemon (pings, retries, heartbeats); a linear scan
  // keeps the structure simple.
  for (auto it = timers_.begin(); it != timers_.end(); ++it) {
    if (it->second.id == id) {
      timers_.erase(it);
      return;
    }
  }
}

bool EventLoop::IsLoopThread() const {
  return loop_thread_id_.load() == std::this_thread::get_id();
}

bool EventLoop::RunOneReady() {
  std::function<void()> fn;
  {
    std::lock_guard<std::mutex> lock(mu_);
    absl::Time now = clock_->Now();
    if (!timers_.empty() && timers_.begin()->first <= now) {
      fn = std::move(timers_.begin()->second.fn);
      timers_.erase(timers_.begin());
    } else if (!ready_.empty()) {
      fn = std::move(ready_.front());
      ready_.pop_front();
    } else {
      return false;
    }
  }
  fn();
  return true;
}

int EventLoop::RunUntilIdle() {
  std::thread::id previous = loop_thread_id_.exchange(std::this_thread::get_id());
  int ran = 0;
  while (RunOneReady()) ++ran;
  loop_thread_id_.store(previous);
  return ran;
}

void EventLoop::AdvanceTime(ManualClock* clock, absl::Duration d) {
  CHECK(clock == clock_) << "AdvanceTime needs the loop's own ManualClock";
  absl::Time target = clock->Now() + d;
  RunUntilIdle();
  while (true) {
    absl::Time next;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (timers_.empty() || timers_.begin()->first > target) break;
      next = timers_.begin()->first;
    }
    if (next > clock->Now()) clock->Advance(next - clock->Now());
    RunUntilIdle();
  }
  if (target > clock->Now()) clock->Advance(target - clock->Now());
  RunUntilIdle();
}

void EventLoop::ThreadMain() {
  loop_thread_id_.store(std::this_thread::get_id());
  while (true) {
    if (RunOneReady()) continue;
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) break;
    if (!ready_.empty()) continue;
    if (timers_.empty()) {
      cv_.wait(lock);
    } else {
      absl::Duration wait = timers_.begin()->first - clock_->Now();
      if (wait > absl::ZeroDuration()) {
        cv_.wait_for(lock, absl::ToChronoNanoseconds(wait));
      }
    }
  }
}

}  // namespace agora
