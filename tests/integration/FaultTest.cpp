// Fault containment: deadlines on every call, restart with backoff, quarantine, and crash
// attribution across restarts. One bad plugin never takes the others down.
#include "Harness.h"

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sys/syscall.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace hostd::test {
namespace {

using Names = std::vector<std::string>;

class Fault : public HostdTest {
protected:
    void SetUp() override {
        HostdTest::SetUp();
        for (auto n : {"a", "c"}) install(n);
        fs::create_directory(stateDir());
    }
    std::string stateDir() const { return path("state"); }
    std::string host(const std::string& extra = "") const { return hostSection("state_dir = " + stateDir() + "\n" + extra); }

    /// Runs hostd with plugin a set to crash its own thread, expects the process to die by
    /// `signal`, then runs it again (a fixed) and expects the crash to be reported as `line`.
    void expectCrashAttributed(const std::string& probeKey, int signal, const std::string& line) {
        writeConfig(host() + probeSection("a", probeKey) + probeSection("c"));
        auto& first = start();
        EXPECT_EQ(first.waitExit(30s), 128 + signal);
        writeConfig(host() + probeSection("a") + probeSection("c"));
        auto& second = start();
        ASSERT_TRUE(waitForLog("hostd: ready running=2", 15s, 2));  // the first run was ready too, before it crashed
        EXPECT_EQ(countLog(line), 1) << log();
        second.signal(SIGTERM);
        EXPECT_EQ(second.waitExit(15s), 0);
    }

    /// After two runs that crashed by `plugin`: a third run reports the second crash as
    /// `crashLine`, does not load it, starts the other two plugins, and drains cleanly.
    void expectQuarantinedAfterTwoCrashes(const std::string& plugin, const std::string& crashLine) {
        auto& hostd = start();
        ASSERT_TRUE(waitForLog("hostd: ready running=2"));
        EXPECT_EQ(countLog("plugin=" + plugin + ": " + crashLine), 2) << log();
        EXPECT_EQ(countLog("plugin=" + plugin + ": quarantined"), 1);
        EXPECT_EQ(countLog("crashed hostd in 2 runs in a row (crash_quarantine = 2); not loaded"), 1);
        hostd.signal(SIGTERM);
        EXPECT_EQ(hostd.waitExit(15s), 0);
    }
};

TEST_F(Fault, HangInStartIsAbandonedItsDependentsBlockedAndTheRestRuns) {
    install("b");
    writeConfig(host() + probeSection("a", "hang = start\nstart_timeout = 200ms") + probeSection("b", "requires = a") +
                probeSection("c"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1"));
    EXPECT_EQ(countLog("plugin=a: call overran its deadline; abandoned, never unloaded call=start deadline=200ms"), 1);
    EXPECT_EQ(countLog("plugin=b: not started reason=\"blocked by a (stuck)\""), 1);
    // Still responsive while a's thread hangs.
    hostd.signal(SIGHUP);
    ASSERT_TRUE(waitForLog("hostd: configuration reloaded"));
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 4);  // a was never stopped cleanly
    EXPECT_EQ(names(events("stop")), (Names{"c"}));
}

TEST_F(Fault, HangInReloadIsAbandonedAndOthersKeepRunning) {
    writeConfig(host("reload_timeout = 200ms") + probeSection("a", "hang = reload") + probeSection("c"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=2"));
    writeConfig(host("reload_timeout = 200ms") + probeSection("a", "hang = reload\ncolor = new") + probeSection("c"));
    ASSERT_TRUE(waitForLog("plugin=a: call overran its deadline; abandoned, never unloaded call=reload deadline=200ms"));
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 4);
    EXPECT_EQ(names(events("stop")), (Names{"c"}));
}

TEST_F(Fault, FailedStartIsRetriedWithGrowingBackoffThenQuarantined) {
    install("b");
    writeConfig(host("restart_burst = 3\nrestart_interval = 1m") + probeSection("a", "fail = start") +
                probeSection("b", "requires = a") + probeSection("c"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("plugin=a: quarantined", 30s));
    auto starts = events("start");
    std::vector<long long> a;
    for (auto& e : starts)
        if (e.name == "a") a.push_back(e.ns);
    ASSERT_EQ(a.size(), 3u);
    EXPECT_GE(a[1] - a[0], 1'000'000'000LL);  // 1 s
    EXPECT_LT(a[1] - a[0], 1'900'000'000LL);  // plus at most 10 % jitter, and some slack
    EXPECT_GE(a[2] - a[1], 2'000'000'000LL);  // doubled
    EXPECT_EQ(countLog("plugin=a: will restart after backoff"), 2);
    EXPECT_EQ(countLog("reason=\"3 failures within 1m; last: failed: probe: injected failure in start\""), 1);
    EXPECT_EQ(countLog("plugin=c: started"), 1);  // untouched throughout
    // A changed section lifts the quarantine: b, blocked until now, starts after a.
    writeConfig(host("restart_burst = 3\nrestart_interval = 1m") + probeSection("a") + probeSection("b", "requires = a") +
                probeSection("c"));
    ASSERT_TRUE(waitForLog("plugin=a: quarantine lifted reason=\"its configuration section changed\""));
    ASSERT_TRUE(waitForLog("plugin=b: started"));
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_F(Fault, ReportedFailureRestartsThePluginWithBackoffThenQuarantines) {
    install("b");
    writeConfig(host("restart_burst = 2") + probeSection("a", "report_failure_after_ms = 50") +
                probeSection("b", "requires = a") + probeSection("c"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("plugin=a: quarantined", 30s));
    EXPECT_EQ(countLog("plugin=a: plugin reported a failure; restarting it error=\"probe: injected runtime failure\""), 2);
    // Each time, its dependent stopped first; the first time, both came back after the backoff.
    auto stops = names(events("stop"));
    EXPECT_EQ(stops, (Names{"b", "a", "b", "a"}));
    EXPECT_EQ(countLog("plugin=b: started"), 2);
    EXPECT_EQ(countLog("plugin=c: started"), 1);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_F(Fault, RestartNoLeavesAFailedPluginFailed) {
    writeConfig(host() + probeSection("a", "fail = start\nrestart = no") + probeSection("c"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1 failed=1"));
    hostd.signal(SIGHUP);
    ASSERT_TRUE(waitForLog("hostd: configuration reloaded"));
    EXPECT_EQ(countLog("will restart"), 0);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_F(Fault, PluginCrashingInStartIsQuarantinedAfterTwoCrashedRuns) {
    install("b");
    writeConfig(host() + probeSection("a", "crash = start") + probeSection("b") + probeSection("c"));
    // Run 1 and 2 crash, as under Restart=always; the exit status is the signal's.
    for (int run = 1; run <= 2; ++run) {
        auto& hostd = start();
        EXPECT_EQ(hostd.waitExit(30s), 128 + SIGSEGV) << "run " << run;
        EXPECT_TRUE(fs::exists(stateDir() + "/crash.breadcrumb")) << "run " << run;
    }
    EXPECT_EQ(countLog("plugin=a: previous run crashed in plugin a (SIGSEGV in start)"), 1);
    expectQuarantinedAfterTwoCrashes("a", "previous run crashed in plugin a (SIGSEGV in start)");
    EXPECT_FALSE(fs::exists(stateDir() + "/crash.breadcrumb"));  // taken by the run that reported it
}

TEST_F(Fault, PluginCrashingInItsConstructorIsQuarantinedAfterTwoCrashedRuns) {
    // Its constructor runs inside dlopen, before any callback: attributed as "load".
    install("b", "probe_constructor_crash");
    writeConfig(host() + probeSection("a") + probeSection("b") + probeSection("c"));
    for (int run = 1; run <= 2; ++run) {
        auto& hostd = start();
        EXPECT_EQ(hostd.waitExit(30s), 128 + SIGSEGV) << "run " << run;
    }
    expectQuarantinedAfterTwoCrashes("b", "previous run crashed in plugin b (SIGSEGV in load)");
}

TEST_F(Fault, ConstructorThatNeverReturnsHoldsTheLoopForLoadTimeoutOnlyAndIsQuarantined) {
    // dlopen never returns; after load_timeout the loop goes on on another thread: the signals,
    // a's start and the drain are served, c (loaded after b) is refused with the reason, and the
    // hang counts like a crashed run.
    install("b", "probe_constructor_hang");
    writeConfig(host("load_timeout = 300ms") + probeSection("a") + probeSection("b") + probeSection("c"));
    for (int run = 1; run <= 2; ++run) {
        auto& hostd = start();
        ASSERT_TRUE(waitForLog("hostd: ready running=1", 15s, run)) << "run " << run << "\n" << log();
        EXPECT_EQ(countLog("plugin=b: plugin code did not return from its load within load_timeout"), run);
        EXPECT_EQ(countLog("probe: constructor never returns"), run);
        EXPECT_EQ(countLog("plugin=c: cannot load plugin"), run);
        EXPECT_EQ(countLog("plugin b's load never returned and holds the dynamic loader; restart hostd"), run);
        hostd.signal(SIGHUP);  // the loop, on its new thread, still reads signals
        ASSERT_TRUE(waitForLog("hostd: configuration reloaded", 15s, run));
        hostd.signal(SIGTERM);
        EXPECT_EQ(hostd.waitExit(15s), 4) << "run " << run;  // kExitStopTimeout: b never finished loading
        EXPECT_EQ(countLog("plugin=a: stopped"), run);
    }
    auto& third = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=2"));
    EXPECT_EQ(countLog("crashed hostd in 2 runs in a row (crash_quarantine = 2); not loaded"), 1) << log();
    third.signal(SIGTERM);
    EXPECT_EQ(third.waitExit(15s), 0);
}

TEST_F(Fault, DestructorThatNeverReturnsOnRemovalLeavesTheOthersRunning) {
    // dlclose of the removed plugin never returns; the loop goes on, a new plugin is refused
    // (the loader is held), the drain still stops the others.
    install("b", "probe_destructor_hang");
    writeConfig(host("load_timeout = 300ms") + probeSection("a") + probeSection("b") + probeSection("c") +
                probeSection("d"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=3"));
    fs::remove(pluginDir() + "/b.so");
    ASSERT_TRUE(waitForLog("plugin=b: plugin code did not return from its unload within load_timeout")) << log();
    EXPECT_EQ(countLog("probe: destructor never returns"), 1);
    install("d");
    ASSERT_TRUE(waitForLog("plugin=d: cannot load plugin")) << log();
    EXPECT_EQ(countLog("plugin b's unload never returned and holds the dynamic loader"), 1);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 4);  // kExitStopTimeout: b never finished unloading
    EXPECT_EQ(countLog("plugin=a: stopped"), 1);
    EXPECT_EQ(countLog("plugin=c: stopped"), 1);
}

TEST_F(Fault, ANewVersionWithACrashHistoryLeavesTheRunningVersionRunning) {
    // The new content crashed hostd twice before: it is refused like a file that cannot load,
    // and the version that runs is neither quarantined nor left undrained.
    writeConfig(host() + probeSection("a") + probeSection("c"));
    install("d", "probe_v2");  // a run that says what identity hostd gives probe_v2's content
    auto& probe = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=3")) << log();  // not "loaded": a SIGTERM then drains before ready
    probe.signal(SIGTERM);
    ASSERT_EQ(probe.waitExit(15s), 0);
    std::string text = log();
    auto at = text.find("content=", text.find("plugin=d: loaded"));
    ASSERT_NE(at, std::string::npos);
    std::string content = text.substr(at + 8, 32);
    fs::remove(pluginDir() + "/d.so");
    std::ofstream(stateDir() + "/crash-counts") << "a 2 " << content << "\n";
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready", 15s, 2));
    install("a", "probe_v2");
    ASSERT_TRUE(waitForLog("plugin=a: new file refused; the running version stays")) << log();
    EXPECT_EQ(countLog("crashed hostd in 2 runs in a row (crash_quarantine = 2)"), 1);
    EXPECT_EQ(countLog("plugin=a: quarantined"), 0);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
    EXPECT_EQ(countLog("plugin=a: stopped"), 2);  // in the identifying run too
}

TEST_F(Fault, HungUnloadOfTheVersionAnUpgradeReplacedLeavesTheNewOneRunning) {
    // The old image's destructor hangs once the new version runs: the plugin is not stuck, its
    // new version stops cleanly in the drain.
    install("b", "probe_destructor_hang");
    writeConfig(host("load_timeout = 300ms") + probeSection("a") + probeSection("b") + probeSection("c"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=3"));
    install("b", "probe_v2");
    ASSERT_TRUE(waitForLog("plugin=b: plugin code did not return from its unload within load_timeout")) << log();
    ASSERT_TRUE(waitForLog("plugin=b: the running version stays")) << log();
    EXPECT_EQ(countLog("plugin=b: upgraded"), 1);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0) << log();  // every plugin stopped cleanly
    EXPECT_EQ(countLog("plugin=b: stopped"), 2);  // the old version for the upgrade, the new one in the drain
}

TEST_F(Fault, AWatchdogAbortAfterTheLoopMovedOnIsNotBlamedOnTheHungLoadAgain) {
    // The hung load was counted when the loop left it behind; a SIGABRT later (a loop stuck
    // somewhere else) must not count it twice, even landing on the thread still inside it.
    install("b", "probe_constructor_hang");
    writeConfig(host("load_timeout = 300ms") + probeSection("a") + probeSection("b") + probeSection("c"));
    auto& first = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1"));
    first.signal(SIGABRT);  // the kernel hands it to the main thread, the one inside b's constructor
    EXPECT_EQ(first.waitExit(15s), 128 + SIGABRT);
    auto& second = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1", 15s, 2)) << log();
    EXPECT_EQ(countLog("previous run crashed outside any plugin (SIGABRT)"), 1) << log();
    EXPECT_EQ(countLog("crashed hostd in 2 runs in a row"), 0);  // one hung run so far, not two
    second.signal(SIGTERM);
    EXPECT_EQ(second.waitExit(15s), 4);
}

TEST_F(Fault, ConstructorThatNeverReturnsIsBlamedWhenTheWatchdogAbortsAndQuarantined) {
    HOSTD_SKIP_UNDER_THREAD_SANITIZER("it defers a SIGABRT sent to a thread stuck in a loop to a point that thread never reaches");
    // With a load_timeout longer than the watchdog's, the main loop is still inside dlopen when
    // systemd's watchdog sends SIGABRT (its default WatchdogSignal), which names the plugin
    // being loaded, so the next runs stop the loop.
    install("b", "probe_constructor_hang");
    writeConfig(host("load_timeout = 10m") + probeSection("a") + probeSection("b") + probeSection("c"));
    for (int run = 1; run <= 2; ++run) {
        auto& hostd = start();
        ASSERT_TRUE(waitForLog("probe: constructor never returns", 15s, run)) << "run " << run;
        if (run == 1) {
            hostd.signal(SIGABRT);  // lands on the stuck main thread itself
        } else {
            // On another thread (the idle worker that ran a's start): blamed all the same.
            bool sent = false;
            for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(hostd.pid()) + "/task")) {
                pid_t tid = std::stoi(task.path().filename());
                if (tid != hostd.pid() && !sent) sent = ::syscall(SYS_tgkill, hostd.pid(), tid, SIGABRT) == 0;
            }
            ASSERT_TRUE(sent) << "hostd has no thread besides the main one";
        }
        EXPECT_EQ(hostd.waitExit(30s), 128 + SIGABRT) << "run " << run;
    }
    expectQuarantinedAfterTwoCrashes("b", "previous run crashed in plugin b (SIGABRT in load)");
}

TEST_F(Fault, CrashInAPluginsDestructorWhenItIsRemovedIsAttributed) {
    // Its destructors run inside dlclose, after its stop: attributed as "unload".
    install("b", "probe_destructor_crash");
    writeConfig(host() + probeSection("a") + probeSection("b") + probeSection("c"));
    auto& first = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=3"));
    fs::remove(pluginDir() + "/b.so");
    EXPECT_EQ(first.waitExit(30s), 128 + SIGSEGV);
    auto& second = start();  // without b: the first run had 3 running
    ASSERT_TRUE(waitForLog("hostd: ready running=2"));
    EXPECT_EQ(countLog("plugin=b: previous run crashed in plugin b (SIGSEGV in unload)"), 1) << log();
    second.signal(SIGTERM);
    EXPECT_EQ(second.waitExit(15s), 0);
}

TEST_F(Fault, CrashInAPluginsOwnThreadIsAttributedByItsImage) {
    expectCrashAttributed("crash = thread", SIGILL, "previous run crashed in plugin a (SIGILL in own-thread)");
}

TEST_F(Fault, ExceptionEscapingAPluginsOwnThreadIsAttributed) {
    expectCrashAttributed("throw = thread", SIGABRT, "previous run crashed in plugin a (terminate in own-thread)");
}

}  // namespace
}  // namespace hostd::test
