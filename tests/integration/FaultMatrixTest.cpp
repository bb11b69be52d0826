// Fault containment for every fault in the callbacks a running plugin gets (reload, stop): a
// failure, an exception, a hang and a crash. The host stays up except for a crash, the healthy
// plugin reaches its expected state, and a crash is attributed to the plugin and callback at
// the next start. (Faults in start: FaultTest.cpp, LifecycleTest.cpp.)
#include "Harness.h"

#include <csignal>
#include <filesystem>

namespace fs = std::filesystem;

namespace hostd::test {
namespace {

using Names = std::vector<std::string>;

class FaultMatrix : public HostdTest {
protected:
    void SetUp() override {
        HostdTest::SetUp();
        for (auto n : {"a", "c"}) install(n);
        fs::create_directory(path("state"));
    }

    std::string config(const std::string& aExtra) const {
        return hostSection("state_dir = " + path("state") + "\nreload_timeout = 200ms\nplugin_stop_timeout = 200ms") +
               probeSection("a", aExtra) + probeSection("c");
    }

    /// Starts a with `fault` (e.g. "throw = reload") and c, and waits until both run.
    HostdProcess& startWithFault(const std::string& fault) {
        writeConfig(config(fault));
        auto& hostd = start();
        EXPECT_TRUE(waitForLog("hostd: ready running=2")) << log();
        return hostd;
    }

    /// Makes hostd call a's reload: a's section changes.
    void triggerReload(const std::string& fault) const { writeConfig(config(fault + "\ncolor = changed")); }

    /// The run after a crash: both plugins run again and the crash is attributed.
    void expectNextRunAttributes(const std::string& callback) {
        writeConfig(config(""));
        auto& again = start();
        ASSERT_TRUE(waitForLog("hostd: ready running=2", 15s, 2)) << log();
        EXPECT_EQ(countLog("plugin=a: previous run crashed in plugin a (SIGSEGV in " + callback + ")"), 1) << log();
        again.signal(SIGTERM);
        EXPECT_EQ(again.waitExit(15s), 0);
    }
};

TEST_F(FaultMatrix, FailureInReloadKeepsThePreviousConfigurationRunning) {
    auto& hostd = startWithFault("fail = reload");
    triggerReload("fail = reload");
    ASSERT_TRUE(waitForLog("plugin=a: reload refused; the plugin keeps running with its previous configuration"));
    EXPECT_EQ(countLog("probe: injected failure in reload"), 1) << log();
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
    EXPECT_EQ(names(events("stop")).size(), 2u);
}

TEST_F(FaultMatrix, ExceptionInReloadIsReportedWithItsMessageAndThePluginKeepsRunning) {
    auto& hostd = startWithFault("throw = reload");
    triggerReload("throw = reload");
    ASSERT_TRUE(waitForLog("plugin=a: reload refused; the plugin keeps running with its previous configuration"));
    EXPECT_EQ(countLog("probe: injected exception in reload"), 1) << log();
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
    EXPECT_EQ(names(events("stop")).size(), 2u);
}

TEST_F(FaultMatrix, HangInReloadLeavesThePluginStuckAndTheDrainReportsIt) {
    auto& hostd = startWithFault("hang = reload");
    triggerReload("hang = reload");
    ASSERT_TRUE(waitForLog("plugin=a: call overran its deadline; abandoned, never unloaded call=reload deadline=200ms"));
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 4);  // a never stopped cleanly
    EXPECT_EQ(names(events("stop")), (Names{"c"}));
}

TEST_F(FaultMatrix, CrashInReloadIsAttributedAtTheNextStart) {
    auto& hostd = startWithFault("crash = reload");
    triggerReload("crash = reload");
    EXPECT_EQ(hostd.waitExit(30s), 128 + SIGSEGV);
    expectNextRunAttributes("reload");
}

TEST_F(FaultMatrix, FailureInStopExitsWithTheStopFailedCodeAndTheOthersStop) {
    auto& hostd = startWithFault("fail = stop");
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 3);
    EXPECT_EQ(countLog("plugin=a: stop failed error=\"failed: probe: injected failure in stop\""), 1) << log();
    EXPECT_EQ(countLog("plugin=c: stopped"), 1) << log();
}

TEST_F(FaultMatrix, ExceptionInStopExitsWithTheStopFailedCodeAndNamesIt) {
    auto& hostd = startWithFault("throw = stop");
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 3);
    EXPECT_EQ(countLog("plugin=a: stop failed"), 1) << log();
    EXPECT_EQ(countLog("probe: injected exception in stop"), 1) << log();
    EXPECT_EQ(countLog("plugin=c: stopped"), 1) << log();
}

TEST_F(FaultMatrix, HangInStopIsAbandonedAtItsDeadlineAndTheDrainEnds) {
    auto& hostd = startWithFault("hang = stop");
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 4);
    EXPECT_EQ(countLog("plugin=a: call overran its deadline; abandoned, never unloaded call=stop deadline=200ms"), 1)
        << log();
    EXPECT_EQ(countLog("plugin=c: stopped"), 1) << log();
}

TEST_F(FaultMatrix, CrashInStopIsAttributedAtTheNextStart) {
    auto& hostd = startWithFault("crash = stop");
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(30s), 128 + SIGSEGV);
    expectNextRunAttributes("stop");
}

}  // namespace
}  // namespace hostd::test
