// RateLimit: one event per interval goes through, the rest are counted and reported once due.
#include "RateLimit.h"

#include <gtest/gtest.h>

namespace {

using hostd::Clock;
using hostd::RateLimit;
using namespace std::chrono_literals;

TEST(RateLimit, LetsOneThroughPerIntervalAndCountsTheRest) {
    RateLimit limit(1s);
    Clock::time_point t0{};
    EXPECT_TRUE(limit.allow(t0 + 10s));
    EXPECT_FALSE(limit.due());
    EXPECT_FALSE(limit.allow(t0 + 10s + 1ms));
    EXPECT_FALSE(limit.allow(t0 + 10s + 500ms));
    ASSERT_TRUE(limit.due());
    EXPECT_EQ(*limit.due(), t0 + 11s);
    EXPECT_EQ(limit.takeHeldBack(t0 + 10s + 900ms), 0);  // not due yet
    EXPECT_EQ(limit.takeHeldBack(t0 + 11s), 2);
    EXPECT_FALSE(limit.due());
    // The report was this interval's line: the next event within it is counted, not logged.
    EXPECT_FALSE(limit.allow(t0 + 11s + 1ms));
    EXPECT_EQ(limit.takeHeldBack(t0 + 12s), 1);
    EXPECT_TRUE(limit.allow(t0 + 14s));
}

TEST(RateLimit, AnEventAfterTheIntervalButBeforeTheReportIsCounted) {
    RateLimit limit(1s);
    Clock::time_point t0{};
    EXPECT_TRUE(limit.allow(t0 + 5s));
    EXPECT_FALSE(limit.allow(t0 + 5s + 100ms));
    EXPECT_FALSE(limit.allow(t0 + 7s));  // the held-back count is not reported yet: one line a second still
    EXPECT_EQ(limit.takeHeldBack(t0 + 7s), 2);
}

}  // namespace
