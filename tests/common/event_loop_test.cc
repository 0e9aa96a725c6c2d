#include "common/event_loop.h"

#include <atomic>
#include <future>
#include <vector>

#include "gtest/gtest.h"

namespace agora {
namespace {

TEST(EventLoopTest, RunsPostsInOrder) {
  ManualClock clock;
  EventLoop loop("test", &clock);
  std::vector<int> order;
  loop.Post([&] { order.push_back(1); });
  loop.Post([&] {
    order.push_back(2);
    loop.Post([&] { order.push_back(3); });
  });
  EXPECT_EQ(loop.RunUntilIdle(), 3);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(EventLoopTest, TimersFireWhenTimeComes) {
  ManualClock clock;
  EventLoop loop("test", &clock);
  std::vector<int> fired;
  loop.PostAfter(absl::Seconds(2), [&] { fired.push_back(2); });
  loop.PostAfter(absl::Seconds(1), [&] { fired.push_back(1); });
  EventLoop::TimerId cancelled =
      loop.PostAfter(absl::Seconds(1), [&] { fired.push_back(99); });
  loop.Cancel(cancelled);
  loop.AdvanceTime(&clock, absl::Milliseconds(999));
  EXPECT_TRUE(fired.empty());
  loop.AdvanceTime(&clock, absl::Milliseconds(1));
  EXPECT_EQ(fired, (std::vector<int>{1}));
  loop.AdvanceTime(&clock, absl::Seconds(5));
  EXPECT_EQ(fired, (std::vector<int>{1, 2}));
}

TEST(EventLoopTest, TimerSeesItsOwnTime) {
  ManualClock clock;
  EventLoop loop("test", &clock);
  absl::Time start = clock.Now();
  absl::Time seen;
  loop.PostAfter(absl::Seconds(3), [&] { seen = loop.Now(); });
  loop.AdvanceTime(&clock, absl::Seconds(10));
  EXPECT_EQ(seen, start + absl::Seconds(3));
  EXPECT_EQ(clock.Now(), start + absl::Seconds(10));
}

TEST(EventLoopTest, IsLoopThreadInsideClosures) {
  ManualClock clock;
  EventLoop loop("test", &clock);
  bool inside = false;
  loop.Post([&] { inside = loop.IsLoopThread(); });
  EXPECT_FALSE(loop.IsLoopThread());
  loop.RunUntilIdle();
  EXPECT_TRUE(inside);
}

TEST(EventLoopTest, ThreadedLoopRunsPostsFromOtherThreads) {
  EventLoop loop("threaded");
  loop.Start();
  std::atomic<int> sum{0};
  std::promise<void> done;
  for (int i = 1; i <= 100; ++i) loop.Post([&sum, i] { sum += i; });
  loop.PostAfter(absl::Milliseconds(5), [&] { done.set_value(); });
  done.get_future().wait();
  loop.Stop();
  EXPECT_EQ(sum.load(), 5050);
}

}  // namespace
}  // namespace agora
