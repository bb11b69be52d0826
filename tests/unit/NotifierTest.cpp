// sd_notify timing: WATCHDOG=1 and EXTEND_TIMEOUT_USEC, driven with explicit times, received
// on a fake manager socket; and the readiness hook --daemon relies on.
#include "Notifier.h"
#include "TempDir.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

using hostd::Clock;
using hostd::Notifier;
using namespace std::chrono_literals;

/// A fake service manager: a datagram socket bound to a temporary path, exported as
/// NOTIFY_SOCKET (plus WATCHDOG_* as given) for the next Notifier.
class FakeManager : public ::testing::Test {
protected:
    void SetUp() override {
        _path = _tmp.file("notify.sock");
        _fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", _path.c_str());
        ASSERT_EQ(::bind(_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        ::setenv("NOTIFY_SOCKET", _path.c_str(), 1);
    }
    void TearDown() override {
        ::close(_fd);
        ::unsetenv("NOTIFY_SOCKET");
        ::unsetenv("WATCHDOG_USEC");
        ::unsetenv("WATCHDOG_PID");
    }

    /// The next datagram, or "" if none is waiting.
    std::string next() {
        pollfd p{_fd, POLLIN, 0};
        if (::poll(&p, 1, 1000) != 1) return "";
        char buf[512];
        ssize_t n = ::recv(_fd, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
    }
    bool nothingWaiting() {
        pollfd p{_fd, POLLIN, 0};
        return ::poll(&p, 1, 0) == 0;
    }

    hostd::test::TempDir _tmp{"hostd-notifier"};
    std::string _path;
    int _fd = -1;
};

TEST_F(FakeManager, WatchdogPingsAtHalfTheIntervalFromTheLastPing) {
    ::setenv("WATCHDOG_USEC", "2000000", 1);
    ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
    Clock::time_point before = Clock::now();
    Notifier n;
    Clock::time_point after = Clock::now();
    EXPECT_EQ(std::getenv("WATCHDOG_USEC"), nullptr) << "plugins' children must not inherit it";
    EXPECT_EQ(std::getenv("WATCHDOG_PID"), nullptr);
    ASSERT_EQ(n.watchdogInterval(), std::chrono::duration_cast<Clock::duration>(2s));
    auto due = n.nextDue();
    ASSERT_TRUE(due);
    EXPECT_GE(*due, before + 1s);
    EXPECT_LE(*due, after + 1s);

    n.sendDue(*due - 1ms);
    EXPECT_TRUE(nothingWaiting()) << "not due yet";
    n.sendDue(*due + 300ms);  // a late wake-up
    EXPECT_EQ(next(), "WATCHDOG=1");
    EXPECT_EQ(n.nextDue(), *due + 300ms + 1s) << "the next ping counts from the last one";
    n.sendDue(*due + 10s);  // a long stall: one ping, not a burst
    EXPECT_EQ(next(), "WATCHDOG=1");
    EXPECT_TRUE(nothingWaiting());
}

TEST_F(FakeManager, WatchdogOfAnotherProcessIsNotPinged) {
    ::setenv("WATCHDOG_USEC", "2000000", 1);
    ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
    Notifier n;
    EXPECT_FALSE(n.watchdogInterval());
    EXPECT_FALSE(n.nextDue());
}

TEST_F(FakeManager, NoWatchdogWithoutNotifySocket) {
    ::unsetenv("NOTIFY_SOCKET");
    ::setenv("WATCHDOG_USEC", "2000000", 1);
    Notifier n;
    EXPECT_FALSE(n.nextDue());
}

TEST_F(FakeManager, ExtensionsCoverTheNextStepUntilTheDeadline) {
    Notifier n;
    EXPECT_FALSE(n.nextDue());
    Clock::time_point t0 = Clock::now();
    n.extendTimeoutUntil(t0 + 12s, t0);
    EXPECT_EQ(n.nextDue(), t0);
    n.sendDue(t0);
    EXPECT_EQ(next(), "EXTEND_TIMEOUT_USEC=10000000");  // a step to the next message, plus a step
    EXPECT_EQ(n.nextDue(), t0 + Notifier::kExtendStep);
    n.sendDue(t0 + 5s);
    EXPECT_EQ(next(), "EXTEND_TIMEOUT_USEC=10000000");
    n.sendDue(t0 + 10s);
    EXPECT_EQ(next(), "EXTEND_TIMEOUT_USEC=7000000");  // 2 s to the deadline, plus a step
    n.sendDue(t0 + 15s);
    EXPECT_TRUE(nothingWaiting()) << "past the deadline nothing is extended";
    EXPECT_FALSE(n.nextDue());
}

TEST_F(FakeManager, ReadinessHookRunsOnceAtTheFirstReady) {
    Notifier n;
    int calls = 0;
    Notifier::setReadinessHook([&] { ++calls; });
    n.ready("running 0 plugins, 0 failed");
    EXPECT_EQ(next(), "READY=1\nSTATUS=running 0 plugins, 0 failed");
    n.ready("configuration generation 2");
    EXPECT_EQ(calls, 1);
}

TEST(Notifier, ReadinessHookRunsWithoutAManagerToo) {
    ::unsetenv("NOTIFY_SOCKET");
    Notifier n;
    bool called = false;
    Notifier::setReadinessHook([&] { called = true; });
    n.ready("x");
    EXPECT_TRUE(called);
    Notifier::setReadinessHook({});
}

}  // namespace
