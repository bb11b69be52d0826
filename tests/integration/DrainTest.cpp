// The drain: reverse dependency order, concurrency, deadlines, exit codes, signals.
#include "Harness.h"

#include <algorithm>
#include <csignal>

namespace hostd::test {
namespace {

class Drain : public BothIsolations {
protected:
    /// The duration_ms of the "drained" line.
    double drainedMs() const {
        const std::string key = "hostd: drained duration_ms=";
        std::string text = log();
        auto pos = text.find(key);
        return pos == std::string::npos ? -1 : std::stod(text.substr(pos + key.size()));
    }
    /// What an overrun call leads to: abandoned in hostd's process, its runner killed if isolated.
    std::string overran() const {
        return _isolation == "process" ? "call overran its deadline; its runner is killed"
                                       : "call overran its deadline; abandoned, never unloaded";
    }
};
HOSTD_IN_BOTH_ISOLATIONS(Drain);

TEST_P(Drain, IndependentPluginsStopConcurrently) {
    std::string config = hostSection();
    for (int i = 0; i < 10; ++i) {
        std::string n = "p" + std::to_string(i);
        install(n);
        config += probeSection(n, "stop_delay_ms = 200");
    }
    writeConfig(config);
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=10"));
    hostd.signal(SIGTERM);
    ASSERT_EQ(hostd.waitExit(30s), 0);
    auto stops = events("stop");
    ASSERT_EQ(stops.size(), 10u);
    // Every stop sleeps 200 ms from its entry. They overlap iff the last one entered before the
    // first one finished: [first, first + 200ms) contains every entry.
    auto [first, last] = std::minmax_element(stops.begin(), stops.end(), [](auto& a, auto& b) { return a.ns < b.ns; });
    EXPECT_LT(last->ns - first->ns, 200'000'000LL) << "stops ran one after another";
}

TEST_P(Drain, DependentsStopBeforeTheirDependencyEvenWhenSlow) {
    for (auto n : {"base", "slow", "fast"}) install(n);
    writeConfig(hostSection() + probeSection("base") + probeSection("slow", "requires = base\nstop_delay_ms = 300") +
                probeSection("fast", "requires = base"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=3"));
    hostd.signal(SIGTERM);
    ASSERT_EQ(hostd.waitExit(15s), 0);
    auto stops = events("stop");
    ASSERT_EQ(stops.size(), 3u);
    EXPECT_EQ(stops.back().name, "base");
    auto slow = std::find_if(stops.begin(), stops.end(), [](auto& e) { return e.name == "slow"; });
    EXPECT_GE(stops.back().ns - slow->ns, 300'000'000LL) << "base stopped before slow finished";
}

TEST_P(Drain, StopOverrunIsLoggedExitsWithTimeoutCodeAndDependenciesGoOn) {
    for (auto n : {"base", "slow"}) install(n);
    writeConfig(hostSection() + probeSection("base") +
                probeSection("slow", "requires = base\nstop_delay_ms = 5000\nstop_timeout = 200ms"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=2"));
    hostd.signal(SIGTERM);
    ASSERT_EQ(hostd.waitExit(15s), 4);
    EXPECT_EQ(countLog("plugin=slow: " + overran() + " call=stop deadline=200ms"), 1);
    auto stops = events("stop");
    ASSERT_EQ(names(stops), (std::vector<std::string>{"slow", "base"}));
    long long gap = stops[1].ns - stops[0].ns;
    EXPECT_GE(gap, 190'000'000LL) << "base must wait for slow's deadline";
    EXPECT_LT(gap, 4'000'000'000LL) << "base must not wait for slow to finish";
    double took = drainedMs();
    EXPECT_GE(took, 190);
    EXPECT_LT(took, 4000);
}

TEST_P(Drain, WholeDrainNeverExceedsStopTimeout) {
    for (auto n : {"a", "b"}) install(n);
    writeConfig(hostSection("stop_timeout = 300ms\nplugin_stop_timeout = 10s") +
                probeSection("a", "stop_delay_ms = 5000") + probeSection("b", "requires = a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=2"));
    hostd.signal(SIGTERM);
    ASSERT_EQ(hostd.waitExit(15s), 4);
    // a's own deadline is what is left of the 300 ms budget when its stop began.
    EXPECT_EQ(countLog("plugin=a: " + overran() + " call=stop deadline="), 1);
    EXPECT_EQ(countLog("plugin=a: not stopped"), 0);
    double took = drainedMs();
    EXPECT_GE(took, 290);
    EXPECT_LT(took, 3000);
}

TEST_P(Drain, FailedStopExitsWithStopFailedCode) {
    for (auto n : {"a", "b"}) install(n);
    writeConfig(hostSection() + probeSection("a", "fail = stop") + probeSection("b"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=2"));
    hostd.signal(SIGTERM);
    ASSERT_EQ(hostd.waitExit(15s), 3);
    EXPECT_EQ(countLog("plugin=a: stop failed error=\"failed: probe: injected failure in stop\""), 1);
    EXPECT_EQ(countLog("plugin=b: stopped"), 1);
}

TEST_P(Drain, SecondSignalDuringDrainExitsAtOnceWithForcedCode) {
    install("slow");
    writeConfig(hostSection() + probeSection("slow", "stop_delay_ms = 10000"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1"));
    hostd.signal(SIGTERM);
    ASSERT_TRUE(waitForEvents([](auto& ev) { return !ev.empty() && ev.back().kind == "stop"; }));
    hostd.signal(SIGINT);
    ASSERT_EQ(hostd.waitExit(5s), 5);
    EXPECT_EQ(countLog("second termination signal during the drain; exiting now signal=SIGINT exit_code=5"), 1);
}

TEST_P(Drain, SigquitDrainsLikeSigterm) {
    install("a");
    writeConfig(hostSection() + probeSection("a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1"));
    hostd.signal(SIGQUIT);
    ASSERT_EQ(hostd.waitExit(15s), 0);
    EXPECT_EQ(countLog("hostd: draining reason=SIGQUIT plugins=1"), 1);
}

TEST_P(Drain, SigtermDuringSlowStartStopsThePluginOnceStarted) {
    install("a");
    writeConfig(hostSection() + probeSection("a", "start_delay_ms = 300"));
    auto& hostd = start();
    ASSERT_TRUE(waitForEvents([](auto& ev) { return !ev.empty(); }));
    hostd.signal(SIGTERM);
    ASSERT_EQ(hostd.waitExit(15s), 0);
    EXPECT_EQ(names(events("stop")), (std::vector<std::string>{"a"}));
}

}  // namespace
}  // namespace hostd::test
