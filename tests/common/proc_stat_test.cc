#include "common/proc_stat.h"

#include <unistd.h>

#include "gtest/gtest.h"

namespace agora {
namespace {

TEST(ProcStatTest, ParsesALineWhoseCommandHoldsSpacesAndParentheses) {
  const char line[] =
      "4242 (a b) (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 5 0 "
      "123456 1000000 250 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1\n";
  ProcStat stat;
  ASSERT_TRUE(ParseProcStat(line, &stat));
  EXPECT_EQ(stat.state, 'S');
  EXPECT_EQ(stat.ppid, 1);
  EXPECT_EQ(stat.pgrp, 4242);
  EXPECT_EQ(stat.session, 4242);
  EXPECT_EQ(stat.utime_ticks, 7u);
  EXPECT_EQ(stat.stime_ticks, 3u);
  EXPECT_EQ(stat.num_threads, 5u);
  EXPECT_EQ(stat.start_time_ticks, 123456u);
  EXPECT_EQ(stat.rss_pages, 250u);
}

TEST(ProcStatTest, RejectsATruncatedLine) {
  ProcStat stat;
  EXPECT_FALSE(ParseProcStat("4242 (x) S 1 4242", &stat));
  EXPECT_FALSE(ParseProcStat("garbage", &stat));
}

TEST(ProcStatTest, ReadsOwnProcessAndItsStartTime) {
  std::optional<ProcStat> self = ReadProcStat(getpid());
  ASSERT_TRUE(self.has_value());
  EXPECT_EQ(self->ppid, getppid());
  EXPECT_GE(self->num_threads, 1u);
  EXPECT_EQ(ProcessStartTime(getpid()), self->start_time_ticks);
  EXPECT_FALSE(ProcessStartTime(0x7ffffff0).has_value());
}

TEST(ProcStatTest, BootIdIsAUuid) {
  absl::StatusOr<std::string> id = ReadBootId();
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->size(), 36u) << *id;
}

}  // namespace
}  // namespace agora
