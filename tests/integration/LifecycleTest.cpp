// The real hostd binary on a temp dir: start order, reloads, failures and their containment.
#include "Harness.h"

#include <algorithm>
#include <csignal>

namespace hostd::test {
namespace {

using Names = std::vector<std::string>;

class Lifecycle : public BothIsolations {};
HOSTD_IN_BOTH_ISOLATIONS(Lifecycle);

TEST_P(Lifecycle, ChainStartsInDependencyOrderAndDrainsInReverse) {
    for (auto n : {"a", "b", "c"}) install(n);
    writeConfig(hostSection() + probeSection("a") + probeSection("b", "requires = a") + probeSection("c", "requires = b"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=3"));
    EXPECT_EQ(names(events("start")), (Names{"a", "b", "c"}));
    hostd.signal(SIGTERM);
    ASSERT_EQ(hostd.waitExit(15s), 0);
    EXPECT_EQ(names(events("stop")), (Names{"c", "b", "a"}));
    for (auto n : {"a", "b", "c"}) {
        EXPECT_EQ(countLog(std::string("plugin=") + n + ": started file=" + pluginDir() + "/" + n + ".so"), 1) << n;
        EXPECT_EQ(countLog(std::string("plugin=") + n + ": stopped duration_ms="), 1) << n;
    }
    EXPECT_EQ(countLog("hostd: drained"), 1);
}

TEST_P(Lifecycle, DescriptorRequiresAndConfigRequiresAreBothHonoured) {
    // b requires a by config; the probe's descriptor requires nothing, so this checks the
    // config's requires is merged, and the order holds even though "b" < "c" < "z" by name.
    for (auto n : {"z", "b", "c"}) install(n);
    writeConfig(hostSection() + probeSection("z", "requires = c") + probeSection("b") + probeSection("c", "requires = b"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=3"));
    EXPECT_EQ(names(events("start")), (Names{"b", "c", "z"}));
    hostd.signal(SIGINT);
    ASSERT_EQ(hostd.waitExit(15s), 0);
    EXPECT_EQ(names(events("stop")), (Names{"z", "c", "b"}));
}

TEST_P(Lifecycle, SighupReloadsOnlyPluginsWhoseSectionChanged) {
    for (auto n : {"a", "b"}) install(n);
    writeConfig(hostSection() + probeSection("a", "color = red") + probeSection("b", "color = blue"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=2"));
    writeConfig(hostSection() + probeSection("a", "color = green") + probeSection("b", "color = blue"));
    hostd.signal(SIGHUP);
    ASSERT_TRUE(waitForLog("hostd: configuration reloaded generation=2"));
    ASSERT_TRUE(waitForEvents([](auto& ev) {
        for (auto& e : ev)
            if (e.kind == "reload") return true;
        return false;
    }));
    ASSERT_TRUE(waitForLog("plugin=a: reloaded"));
    EXPECT_EQ(names(events("reload")), (Names{"a"}));
    EXPECT_TRUE(hostd.running());
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_P(Lifecycle, SighupWithoutChangesCallsNoPluginAndDoesNotTerminate) {
    install("a");
    writeConfig(hostSection() + probeSection("a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1"));
    hostd.signal(SIGHUP);
    ASSERT_TRUE(waitForLog("hostd: configuration reloaded generation=2"));
    hostd.signal(SIGHUP);  // a second one after the first was handled: signals do not queue
    ASSERT_TRUE(waitForLog("hostd: configuration reloaded generation=3"));
    EXPECT_TRUE(hostd.running());
    EXPECT_TRUE(events("reload").empty());
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_P(Lifecycle, InvalidConfigOnSighupKeepsThePreviousOne) {
    install("a");
    writeConfig(hostSection() + probeSection("a", "color = red"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1"));
    writeConfig(hostSection() + probeSection("a", "color = green\nthis line is wrong"));
    hostd.signal(SIGHUP);  // the edit itself triggers a reload too: either may come first
    ASSERT_TRUE(waitForLog("configuration reload failed; keeping the previous configuration", 15s, 2));
    std::string host = hostSection();
    auto wrongLine = std::count(host.begin(), host.end(), '\n') + 4;  // [plugin.a], events, color, then it
    EXPECT_EQ(countLog(configPath() + ":" + std::to_string(wrongLine) + ": expected 'key = value'"), 2) << log();
    EXPECT_TRUE(events("reload").empty());
    EXPECT_TRUE(hostd.running());
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_P(Lifecycle, FailedStartBlocksDependentsAndOthersKeepRunning) {
    for (auto n : {"a", "b", "c"}) install(n);
    writeConfig(hostSection() + probeSection("a", "fail = start") + probeSection("b", "requires = a") + probeSection("c"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1 failed=1"));
    EXPECT_EQ(countLog("plugin=a: start failed file=" + pluginDir() + "/a.so error=\"failed: probe: injected failure in start\""), 1);
    EXPECT_EQ(countLog("plugin=b: not started reason=\"blocked by a (failed)\""), 1);
    Names started = names(events("start"));
    std::sort(started.begin(), started.end());  // independent plugins start concurrently
    EXPECT_EQ(started, (Names{"a", "c"}));
    hostd.signal(SIGTERM);
    ASSERT_EQ(hostd.waitExit(15s), 0);
    EXPECT_EQ(names(events("stop")), (Names{"c"}));  // a never started, so it is not stopped
}

TEST_P(Lifecycle, ExceptionInStartIsReportedWithItsMessage) {
    for (auto n : {"a", "b"}) install(n);
    writeConfig(hostSection() + probeSection("a", "throw = start") + probeSection("b"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1 failed=1"));
    EXPECT_EQ(countLog("plugin=a: start failed file=" + pluginDir() + "/a.so error=\"exception: probe: injected exception in start\""), 1);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_P(Lifecycle, MissingDependencyLeavesThePluginPendingAndNamesIt) {
    for (auto n : {"a", "b"}) install(n);
    writeConfig(hostSection() + probeSection("a", "requires = zz") + probeSection("b", "requires = a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=0 failed=0 pending=2"));
    EXPECT_EQ(countLog("plugin=a: pending reason=\"waiting for zz (not installed)\""), 1);
    EXPECT_EQ(countLog("plugin=b: pending reason=\"waiting for a (pending)\""), 1);
    EXPECT_TRUE(events().empty());
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_P(Lifecycle, DependencyCycleIsNamedAndTheRestRuns) {
    for (auto n : {"a", "b", "c"}) install(n);
    writeConfig(hostSection() + probeSection("a", "requires = b") + probeSection("b", "requires = a") + probeSection("c"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1"));
    EXPECT_EQ(countLog("dependency cycle; the plugins on it are not started cycle=\"a -> b -> a\""), 1);
    EXPECT_EQ(countLog("plugin=a: not started reason=\"dependency cycle a -> b -> a\""), 1);
    EXPECT_EQ(names(events("start")), (Names{"c"}));
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_P(Lifecycle, DisabledPluginIsNotLoaded) {
    for (auto n : {"a", "b"}) install(n);
    writeConfig(hostSection() + probeSection("a", "enabled = false") + probeSection("b"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1"));
    EXPECT_EQ(countLog("plugin=a: disabled by configuration; not loaded"), 1);
    EXPECT_EQ(names(events("start")), (Names{"b"}));
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_P(Lifecycle, SameFileUnderTwoNamesRunsAsTwoInstances) {
    install("one");
    install("two");
    writeConfig(hostSection() + probeSection("one") + probeSection("two", "requires = one"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=2"));
    EXPECT_EQ(names(events("start")), (Names{"one", "two"}));
    hostd.signal(SIGTERM);
    ASSERT_EQ(hostd.waitExit(15s), 0);
    EXPECT_EQ(names(events("stop")), (Names{"two", "one"}));
}

}  // namespace
}  // namespace hostd::test
