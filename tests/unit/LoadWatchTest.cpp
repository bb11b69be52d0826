// LoadWatch: a guarded call that returns in time is invisible; one that overruns hands the
// loop to the watch thread, and if it returns after all, its thread never comes back.
#include "LoadWatch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace hostd::test {
namespace {

using namespace std::chrono_literals;

TEST(LoadWatch, ACallInTimeReturnsItsValueOrExceptionAndNeverCallsBack) {
    std::atomic<int> overruns{0};
    LoadWatch watch([&](const LoadWatch::Job&) { ++overruns; });
    EXPECT_EQ(watch.guard({"p", "sha", "load"}, 5s, [] { return 42; }), 42);
    EXPECT_THROW(watch.guard({"p", "sha", "load"}, 5s, []() -> int { throw std::runtime_error("no"); }),
                 std::runtime_error);
    // Many short calls under a short limit: a tick left from one never fires for the next.
    for (int i = 0; i < 2000; ++i) watch.guard({"p", "sha", "unload"}, 50ms, [] { return true; });
    std::this_thread::sleep_for(100ms);  // past every limit armed above
    EXPECT_EQ(overruns.load(), 0);
    EXPECT_FALSE(watch.loaderHeld());
}

TEST(LoadWatch, AnOverrunCallsBackOnTheWatchThreadAndTheLateCallerNeverReturns) {
    std::promise<std::thread::id> calledBackOn;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    // Never destroyed, as in hostd, where the callback runs the loop until the process ends:
    // the caller it parks and the callback stay inside it.
    static LoadWatch* watch = nullptr;
    watch = new LoadWatch([&](const LoadWatch::Job& job) {
        EXPECT_EQ(job.plugin, "hung");
        EXPECT_EQ(job.content, "abc");
        EXPECT_STREQ(job.what, "load");
        release.set_value();  // the hung call returns after all, now that the loop moved on
        calledBackOn.set_value(std::this_thread::get_id());
        for (;;) ::pause();
    });
    std::atomic<bool> callerReturned{false};
    std::thread caller([&, released] {
        watch->guard({"hung", "abc", "load"}, 50ms, [&] { released.wait(); });
        callerReturned = true;
    });
    std::thread::id callerId = caller.get_id();
    caller.detach();
    auto onThread = calledBackOn.get_future();
    ASSERT_EQ(onThread.wait_for(10s), std::future_status::ready);
    EXPECT_NE(onThread.get(), callerId);
    EXPECT_TRUE(watch->loaderHeld());
    EXPECT_EQ(watch->heldBy().plugin, "hung");
    std::this_thread::sleep_for(200ms);
    EXPECT_FALSE(callerReturned.load());  // parked inside guard() for good
}

}  // namespace
}  // namespace hostd::test
