// Isolated plugins (isolation = process): the same .so and SDK run in a hostd-runner process of
// their own. Each test runs plugin a isolated, breaking a rule or failing, beside b, a probe in
// hostd's process, which keeps running throughout: what a does ends in its runner.
#include "IsolationSupport.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace hostd::test {
namespace {

TEST_F(Isolation, APluginRunsInARunnerOfItsOwnWithTheSameLifecycle) {
    auto& hostd = startWith("probe", "log_lines = 3", "hostd: ready running=2");
    int runner = lastStartPid("a");
    EXPECT_NE(runner, 0);
    EXPECT_NE(runner, hostd.pid());
    EXPECT_EQ(lastStartPid("b"), hostd.pid());
    EXPECT_TRUE(waitForLog("plugin=a: line 3 from=plugin")) << log();  // its log service, through the socket
    std::ifstream comm("/proc/" + std::to_string(runner) + "/comm");
    std::string name;
    std::getline(comm, name);
    EXPECT_EQ(name, "hostd-runner");
    auto list = hostctl({"list"});
    EXPECT_NE(list.out.find("runner " + std::to_string(runner)), std::string::npos) << list.out;
    auto plugins = json({"list"})->getArray("plugins");
    ASSERT_EQ(plugins->size(), 2u);
    EXPECT_EQ(plugins->getObject(0)->getValue<std::string>("isolation"), "process");
    EXPECT_EQ(plugins->getObject(0)->getValue<int>("runner_pid"), runner);
    EXPECT_EQ(plugins->getObject(1)->getValue<std::string>("isolation"), "in-process");
    auto top = json({"top"})->getArray("plugins");  // /debug/plugins too
    ASSERT_EQ(top->size(), 2u);
    auto usage = top->getObject(0);
    ASSERT_FALSE(usage->isNull("runner"));
    EXPECT_EQ(usage->getObject("runner")->getValue<int>("pid"), runner);
    EXPECT_GT(usage->getObject("runner")->getValue<double>("resident_bytes"), 0);
    EXPECT_TRUE(top->getObject(1)->isNull("runner"));
    drainExpecting(hostd, 0);
    EXPECT_EQ(countLog("plugin=a: stopped"), 1);
    EXPECT_EQ(lastStartPid("a"), runner);
    EXPECT_TRUE(processGone(runner)) << "the runner outlived hostd";
}

TEST_F(Isolation, ACrashInStartEndsTheRunnerNotHostdAndCountsTowardsQuarantine) {
    auto& hostd = startWith("probe", "crash = start", "hostd: ready running=1 failed=1");
    EXPECT_TRUE(waitForLog("plugin=a: start failed")) << log();
    EXPECT_EQ(countLog("error=\"failed: its runner crashed (SIGSEGV) in start\""), 1);
    ASSERT_TRUE(waitForLog("plugin=a: quarantined")) << log();  // restart_burst = 2: the second failure
    EXPECT_EQ(countLog("error=\"failed: its runner crashed (SIGSEGV) in start\""), 2);
    EXPECT_EQ(countLog("crashed in plugin"), 0);  // not hostd's crash: no crash history
    drainExpecting(hostd, 0);
}

TEST_F(Isolation, ExitInStartIsTheRunnersExitStatus) {
    auto& hostd = startWith("contain_exit", "", "hostd: ready running=1 failed=1");
    EXPECT_EQ(countLog("plugin=a: contain: calling exit(3)"), 1);
    EXPECT_EQ(countLog("its runner exited with status 3 in start"), 1) << log();
    drainExpecting(hostd, 0);  // not 3: the plugin's exit code is not hostd's
}

TEST_F(Isolation, ClosingEveryDescriptorHarmsOnlyTheRunnerAndSaysSo) {
    // In hostd's process: exit 7, "closed hostd's epoll". Here the runner's socket is lost.
    // restart = no: a restart after the backoff would log each line again while they are counted.
    auto& hostd = startWith("contain_closefds", "restart = no", "hostd: ready running=1 failed=1");
    EXPECT_EQ(countLog("plugin=a: stderr: hostd-runner: the plugin closed or replaced the runner's socket (fd 3)"), 1) << log();
    EXPECT_EQ(countLog("error=\"failed: its runner exited with status 121 in start\""), 1) << log();
    drainExpecting(hostd, 0);
}

TEST_F(Isolation, SignalsUnblockedByAPluginAreItsRunnersAndTheDrainGoesOn) {
    // In hostd's process the next SIGTERM kills hostd undrained. isolation in [hostd] isolates c too.
    auto& hostd = startWith("contain_signals", "", "hostd: ready running=2", "isolation = process\n");
    install("c", "contain_signals");
    ASSERT_TRUE(waitForLog("plugin=c: started")) << log();
    EXPECT_NE(lastStartPid("b"), hostd.pid());  // b too: [hostd] isolation = process
    drainExpecting(hostd, 0);
    EXPECT_EQ(countLog("plugin=a: stopped"), 1);
    EXPECT_EQ(countLog("plugin=c: stopped"), 1);
}

TEST_F(Isolation, AStartThatNeverReturnsIsKilledAtItsDeadlineAndThePluginFailsNotStuck) {
    auto& hostd = startWith("probe", "hang = start\nstart_timeout = 300ms", "hostd: ready running=1 failed=1");
    EXPECT_EQ(countLog("plugin=a: call overran its deadline; its runner is killed call=start deadline=300ms"), 1) << log();
    EXPECT_EQ(countLog("its runner was killed: its start overran its deadline (300ms)"), 1) << log();
    EXPECT_EQ(countLog("stuck"), 0);
    drainExpecting(hostd, 0);
}

TEST_F(Isolation, AStopThatNeverReturnsIsKilledSoTheDrainEndsWithinItsDeadline) {
    auto& hostd = startWith("probe", "hang = stop\nstop_timeout = 300ms", "hostd: ready running=2");
    auto begun = std::chrono::steady_clock::now();
    drainExpecting(hostd, 4);  // a stop that timed out
    EXPECT_LT(std::chrono::steady_clock::now() - begun, 10s);  // not the 30 s budget
    EXPECT_EQ(countLog("plugin=a: call overran its deadline; its runner is killed call=stop"), 1) << log();
}

TEST_F(Isolation, ARunnerKilledFromOutsideIsRestartedAfterBackoffInAFreshOneThenQuarantined) {
    auto& hostd = startWith("probe", "", "hostd: ready running=2");
    int first = lastStartPid("a");
    ASSERT_GT(first, 0);
    ::kill(first, SIGKILL);
    ASSERT_TRUE(waitForLog("plugin=a: its runner was killed (SIGKILL); restarting it")) << log();
    EXPECT_TRUE(waitForLog("plugin=a: will restart after backoff")) << log();
    ASSERT_TRUE(waitForEvents([](const std::vector<Event>& e) {
        int starts = 0;
        for (const auto& ev : e) starts += ev.kind == "start" && ev.name == "a" ? 1 : 0;
        return starts == 2;
    })) << log();
    int second = lastStartPid("a");
    EXPECT_NE(second, first);
    EXPECT_EQ(countLog("plugin=b: stopped"), 0);  // b does not depend on a
    auto restarts = json({"top"})->getArray("plugins")->getObject(0)->getObject("restarts");  // /debug/plugins
    EXPECT_EQ(restarts->getValue<int>("killed"), 1);
    EXPECT_EQ(restarts->size(), 1u);
    ::kill(second, SIGKILL);  // restart_burst = 2
    ASSERT_TRUE(waitForLog("plugin=a: quarantined")) << log();
    EXPECT_EQ(countLog("plugin=a: started"), 2) << log();
    drainExpecting(hostd, 0);
    EXPECT_EQ(countLog("plugin=a: stopped"), 2) << log();  // nothing to stop in the dead runners
}

TEST_F(Isolation, ASpareRunnerWaitsForTheNextLoadOnlyWhileAnIsolatedPluginRuns) {
    install("a");
    writeConfig(config("") + probeSection("c", "isolation = process"));  // c arrives later
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=2")) << log();
    auto runners = [&] {  // hostd's children that are runners
        std::vector<pid_t> out;
        std::ifstream children("/proc/" + std::to_string(hostd.pid()) + "/task/" + std::to_string(hostd.pid()) + "/children");
        for (pid_t pid = 0; children >> pid;) {
            std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
            std::string name;
            if (std::getline(comm, name) && name == "hostd-runner") out.push_back(pid);
        }
        return out;
    };
    ASSERT_TRUE(waitUntil([&] { return runners().size() == 2; }, 15s)) << "a's runner and a spare";
    pid_t a = lastStartPid("a");
    auto both = runners();
    pid_t spare = both[0] == a ? both[1] : both[0];
    ::kill(spare, SIGKILL);  // from outside: the next load must not take it
    ASSERT_TRUE(waitUntil([&] {  // dead, not yet reaped: hostd sees it when it takes the spare
        std::ifstream stat("/proc/" + std::to_string(spare) + "/stat");
        std::string pid, comm, state;
        return stat >> pid >> comm >> state && state == "Z";
    }, 15s)) << "the spare's end";
    install("c");
    ASSERT_TRUE(waitForLog("plugin=c: started")) << log();
    EXPECT_NE(lastStartPid("c"), spare);
    EXPECT_NE(lastStartPid("c"), a);
    EXPECT_TRUE(waitUntil([&] { return runners().size() == 3; }, 15s)) << "a's, c's and a new spare";
    fs::remove(pluginDir() + "/a.so");
    fs::remove(pluginDir() + "/c.so");
    ASSERT_TRUE(waitForLog("plugin=c: removed")) << log();
    ASSERT_TRUE(waitForLog("plugin=a: removed")) << log();
    EXPECT_TRUE(waitUntil([&] { return runners().empty(); }, 15s)) << "no isolated plugin left: no spare either";
    drainExpecting(hostd, 0);
}

TEST_F(Isolation, ANewVersionItsRunnerRefusesLeavesTheRunningVersionRunning) {
    auto& hostd = startWith("probe", "", "hostd: ready running=2");
    int runner = lastStartPid("a");
    install("a", "no_entry");  // loaded in a runner, which says it has no entry point
    ASSERT_TRUE(waitForLog("plugin=a: new file refused; the running version stays")) << log();
    EXPECT_EQ(countLog("no symbol hostd_plugin_entry"), 1) << log();
    install("b", "probe_v2");  // a later event: by then a wrongly failed a would be restarting
    ASSERT_TRUE(waitForLog("plugin=b: upgraded")) << log();
    EXPECT_EQ(countLog("plugin=a: its runner"), 0) << log();
    EXPECT_EQ(countLog("plugin=a: stopping"), 0) << log();
    EXPECT_EQ(lastStartPid("a"), runner);
    EXPECT_FALSE(processGone(runner));
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0) << log();
}

TEST_F(Isolation, AFailureReportedFromTheRunnerRestartsThePlugin) {
    auto& hostd = startWith("probe", "report_failure_after_ms = 50", "hostd: ready running=2");
    ASSERT_TRUE(waitForLog("plugin=a: plugin reported a failure; restarting it")) << log();
    drainExpecting(hostd, 0);
}

TEST_F(Isolation, WhatThePluginPrintsIsLoggedAsItsOwn) {
    auto& hostd = startWith("contain_print", "", "hostd: ready running=2");
    EXPECT_TRUE(waitForLog("info plugin=a: stdout: contain: to stdout")) << log();
    EXPECT_TRUE(waitForLog("warning plugin=a: stderr: contain: to stderr")) << log();
    drainExpecting(hostd, 0);
}

TEST_F(Isolation, AConstructorThatNeverReturnsIsKilledAndHoldsNoLoader) {
    // In hostd's process such a constructor holds the dynamic loader until a restart.
    auto& hostd = startWith("probe_constructor_hang", "", "hostd: ready running=1", "load_timeout = 300ms\n");
    EXPECT_EQ(countLog("plugin=a: cannot load plugin"), 1) << log();
    EXPECT_EQ(countLog("did not return from its load within load_timeout (300ms); its runner was killed"), 1) << log();
    install("c");  // in hostd's process: the loader is free
    ASSERT_TRUE(waitForLog("plugin=c: started")) << log();
    drainExpecting(hostd, 0);
}

TEST_F(Isolation, ExitInAConstructorIsALoadFailureOfTheRunnerOnly) {
    // In hostd's process exit() in a constructor ends hostd inside its dlopen.
    auto& hostd = startWith("contain_exitload", "", "hostd: ready running=1");
    EXPECT_EQ(countLog("its runner exited with status 3 while loading the plugin"), 1) << log();
    drainExpecting(hostd, 0);
}

TEST_F(Isolation, A1GBAllocationUnderRlimitAsFailsThePluginNotTheHost) {
#if defined(HOSTD_SANITIZED_BUILD)  // the tests' own code is not instrumented: __SANITIZE_ADDRESS__ is not set here
    GTEST_SKIP() << "a sanitizer build's runner reserves terabytes of address space: no rlimit_as fits it";
#endif
    auto& hostd = startWith("contain_allocate", "rlimit_as = 256M\nrestart = no", "hostd: ready running=1 failed=1");
    EXPECT_EQ(countLog("plugin=a: start failed"), 1) << log();
    EXPECT_EQ(countLog("contain: 1 GB allocation failed"), 1) << log();
    drainExpecting(hostd, 0);
}

TEST_F(Isolation, AConstructorThatCrashesIsALoadFailure) {
    auto& hostd = startWith("probe_constructor_crash", "", "hostd: ready running=1");
    EXPECT_EQ(countLog("its runner crashed (SIGSEGV) while loading the plugin"), 1) << log();
    drainExpecting(hostd, 0);
}

TEST_F(Isolation, ACrashInStopFailsTheStopNotTheDrain) {
    auto& hostd = startWith("probe", "crash = stop", "hostd: ready running=2");
    drainExpecting(hostd, 3);  // a stop that failed
    EXPECT_EQ(countLog("error=\"failed: its runner crashed (SIGSEGV) in stop\""), 1) << log();
}

TEST_F(Isolation, ACrashInAThreadOfThePluginRestartsItInAFreshRunnerThenQuarantines) {
    // Its thread crashes each run: restarted once in a fresh runner, quarantined at the second
    // failure (restart_burst = 2); hostd and b never notice.
    auto& hostd = startWith("probe", "crash = thread", "hostd: ready running=2");
    ASSERT_TRUE(waitForLog("plugin=a: its runner crashed (SIGILL); restarting it")) << log();
    ASSERT_TRUE(waitForLog("plugin=a: quarantined")) << log();
    EXPECT_EQ(countLog("plugin=a: started"), 2) << log();
    EXPECT_EQ(countLog("plugin=a: its runner crashed (SIGILL); restarting it"), 2) << log();
    drainExpecting(hostd, 0);
}

TEST_F(Isolation, AProcessThePluginForkedEndsWithItsRunner) {
    auto& hostd = startWith("contain_fork", "", "hostd: ready running=2");
    pid_t child = loggedPid("contain: forked ");
    ASSERT_GT(child, 0) << log();
    drainExpecting(hostd, 0);
    EXPECT_TRUE(waitUntil([&] { return processGone(child); }, 15s)) << "the plugin's child outlived its runner";
    EXPECT_EQ(countLog("a process the plugin forked and left behind still runs"), 0);  // not hostd's child
}

TEST_F(Isolation, AProcessThePluginDaemonisedOutOfItsGroupEndsWhenItsRunnerUnloads) {
    // fork, setsid, fork: the grandchild leaves the runner's process group and is orphaned. The
    // runner is its subreaper and ends it as the plugin is unloaded, while hostd runs on.
    auto& hostd = startWith("contain_escape", "", "hostd: ready running=2");
    pid_t escaped = loggedPid("contain: escaped ");
    ASSERT_GT(escaped, 0) << log();
    ASSERT_FALSE(processGone(escaped));
    fs::remove(pluginDir() + "/a.so");
    ASSERT_TRUE(waitForLog("plugin=a: removed")) << log();
    EXPECT_TRUE(waitUntil([&] { return processGone(escaped); }, 15s)) << "the escaped process outlived the plugin";
    EXPECT_TRUE(waitForLog("plugin=a: stderr: hostd-runner: ended what the plugin left running (plugin.h: reap what you fork): " +
                           std::to_string(escaped))) << log();
    drainExpecting(hostd, 0);
}

TEST_F(Isolation, ALogFloodThroughTheSocketIsRateLimitedAndTheDrainIsOnTime) {
    auto& hostd = startWith("contain_logflood", "log_rate_limit = 200", "hostd: ready running=2");
    ASSERT_TRUE(waitForLog("plugin=a: plugin lines suppressed: more than log_rate_limit a second suppressed=")) << log();
    drainExpecting(hostd, 0);
    EXPECT_EQ(countLog("plugin=a: stopped"), 1);
}

TEST_F(Isolation, AReloadThatChangesIsolationRestartsThePluginWhereItIsToRunDependentsFirst) {
    install("a");
    writeConfig(config("") + "requires = a\n");  // b requires a
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=2")) << log();
    int runner = lastStartPid("a");
    ASSERT_NE(runner, hostd.pid());
    writeConfig(hostSection("state_dir = " + path("state")) + probeSection("a") + probeSection("b", "requires = a"));
    ASSERT_TRUE(waitForLog("plugin=a: isolation changed; loading it again isolation=in-process")) << log();
    ASSERT_TRUE(waitForEvents([](const std::vector<Event>& e) { return names(e).size() == 6; })) << log();
    // b stops before a, a starts again (in hostd), then b.
    EXPECT_EQ(names(events()), (std::vector<std::string>{"a", "b", "b", "a", "a", "b"}));
    EXPECT_EQ(lastStartPid("a"), hostd.pid());
    ASSERT_TRUE(waitUntil([&] { return processGone(runner); }, 15s)) << "the old runner lives on";
    writeConfig(config("") + "requires = a\n");  // and back
    ASSERT_TRUE(waitForLog("plugin=a: isolation changed; loading it again isolation=process")) << log();
    ASSERT_TRUE(waitForEvents([](const std::vector<Event>& e) { return names(e).size() == 10; })) << log();
    EXPECT_NE(lastStartPid("a"), hostd.pid());
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0) << log();
}

TEST_F(Isolation, AnUnknownIsolationIsAConfigurationErrorWithItsLine) {
    writeConfig(hostSection("isolation = sideways"));
    auto& hostd = start({"--check-config"});
    EXPECT_EQ(hostd.waitExit(15s), 78);
    EXPECT_EQ(countLog(configPath() + ":3: isolation = 'sideways' is not one of in-process, process"), 1) << log();
}

}  // namespace
}  // namespace hostd::test
