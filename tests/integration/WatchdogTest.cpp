// The timed sd_notify messages on a fake manager socket: WATCHDOG=1 every WATCHDOG_USEC/2 only
// while the main loop turns, and EXTEND_TIMEOUT_USEC while a long startup or drain is within its
// budget.
#include "DaemonSupport.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <sys/ptrace.h>
#include <sys/wait.h>

namespace hostd::test {
namespace {

class Watchdog : public HostdTest {
protected:
    void SetUp() override {
        HostdTest::SetUp();
        _manager.emplace(path("notify.sock"));
    }
    void TearDown() override {
        _hostd.reset();
        _manager.reset();
        HostdTest::TearDown();
    }

    /// hostd with a fake manager that expects a ping every 200 ms.
    HostdProcess& startWatched() {
        return start({}, {"NOTIFY_SOCKET=" + path("notify.sock"), "WATCHDOG_USEC=400000"});
    }

    std::optional<NotifySocket> _manager;
};

TEST_F(Watchdog, PingsAtHalfTheIntervalAfterReady) {
    install("a");
    writeConfig(hostSection() + probeSection("a"));
    auto& hostd = startWatched();
    EXPECT_EQ(_manager->nextExcept("WATCHDOG=1"), "READY=1\nSTATUS=running 1 plugins, 0 failed");
    // 200 ms apart: about 10 in two seconds; a loaded machine may delay a few.
    int pings = _manager->count("WATCHDOG=1", 2s);
    EXPECT_GE(pings, 5);
    EXPECT_LE(pings, 11);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_F(Watchdog, PingsStopWhileTheMainThreadIsStuckAndResumeAfter) {
    if (!runningAsRoot()) GTEST_SKIP() << "stopping one thread with ptrace may need root (CI runs as root)";
    copyPlugin(HOSTD_HEARTBEAT_PLUGIN, pluginDir(), "heartbeat");
    writeConfig(hostSection() + "[plugin.heartbeat]\ninterval = 100ms\n");
    auto& hostd = startWatched();
    ASSERT_EQ(_manager->nextExcept("WATCHDOG=1"), "READY=1\nSTATUS=running 1 plugins, 0 failed");
    ASSERT_GE(_manager->count("WATCHDOG=1", 1s), 2);

    // Stop only the main thread (its tid is the pid): the plugin's and every other thread run
    // on, as they would while the main loop hangs. A timer thread would keep pinging.
    pid_t main = hostd.pid();
    ASSERT_EQ(::ptrace(PTRACE_SEIZE, main, nullptr, nullptr), 0) << std::strerror(errno);
    ASSERT_EQ(::ptrace(PTRACE_INTERRUPT, main, nullptr, nullptr), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(main, &status, __WALL), main);
    EXPECT_EQ(procStatus(main, main)["State"].substr(0, 1), "t") << "main thread stopped";
    _manager->count("WATCHDOG=1", 300ms);  // a ping already on its way
    int heartbeatsBefore = countLog("plugin=heartbeat");
    EXPECT_EQ(_manager->count("WATCHDOG=1", 1500ms), 0) << "pinged while the main loop could not turn";
    EXPECT_GT(countLog("plugin=heartbeat"), heartbeatsBefore) << "the other threads kept running";

    ASSERT_EQ(::ptrace(PTRACE_DETACH, main, nullptr, nullptr), 0);
    EXPECT_GE(_manager->count("WATCHDOG=1", 1s), 2) << "pings resume with the loop";
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_F(Watchdog, LongDrainAsksForMoreTimeWithinItsBudget) {
    install("a");
    writeConfig(hostSection("stop_timeout = 20s") + probeSection("a", "stop_timeout = 20s\nstop_delay_ms = 6000"));
    auto& hostd = start({}, {"NOTIFY_SOCKET=" + path("notify.sock")});
    ASSERT_EQ(_manager->next(), "READY=1\nSTATUS=running 1 plugins, 0 failed");
    hostd.signal(SIGTERM);
    EXPECT_EQ(_manager->next(), "STOPPING=1\nSTATUS=draining 1 plugins (SIGTERM)");
    // At once, then every 5 s: time to the next message plus a step of slack.
    EXPECT_EQ(_manager->next(), "EXTEND_TIMEOUT_USEC=10000000");
    EXPECT_EQ(_manager->next(), "EXTEND_TIMEOUT_USEC=10000000");
    EXPECT_EQ(hostd.waitExit(30s), 0);
}

TEST_F(Watchdog, LongStartupAsksForMoreTimeWhileItsStartsRunThenStops) {
    // Not the quick startups (the tests above get READY=1 first): from the fifth second on, so a
    // slow but live startup is never aborted by TimeoutStartSec (TimeoutStartFailureMode=abort).
    install("a");
    writeConfig(hostSection() + probeSection("a", "start_timeout = 20s\nstart_delay_ms = 6000"));
    auto& hostd = start({}, {"NOTIFY_SOCKET=" + path("notify.sock")});
    EXPECT_EQ(_manager->next(), "EXTEND_TIMEOUT_USEC=10000000");  // 5 s in: to the next message + a step
    EXPECT_EQ(_manager->next(), "READY=1\nSTATUS=running 1 plugins, 0 failed");
    EXPECT_EQ(_manager->count("EXTEND_TIMEOUT_USEC=10000000", 5500ms), 0) << "extended after READY=1";
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

}  // namespace
}  // namespace hostd::test
