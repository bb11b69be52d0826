// In-process containment (issue: thirteen ways a plugin still kills, hangs or silences hostd):
// a plugin that breaks one rule of plugin.h (tests/fixtures/contain/contain.c), beside a
// well-behaved probe. hostd keeps draining, logging, reloading and attributing crashes, or
// names the plugin and counts it towards its quarantine.
#include "Harness.h"

#include <csignal>
#include <filesystem>

namespace fs = std::filesystem;

namespace hostd::test {
namespace {

class Containment : public HostdTest {
protected:
    void SetUp() override {
        HostdTest::SetUp();
        install("b");
        fs::create_directory(stateDir());
    }
    std::string stateDir() const { return path("state"); }
    std::string config(const std::string& extra = "", const std::string& sectionA = "") const {
        return hostSection("state_dir = " + stateDir() + "\n" + extra) + "[plugin.a]\n" + sectionA + "\n" + probeSection("b");
    }
    /// Starts hostd on config(), a being the fixture contain_WHAT, and waits until both run.
    HostdProcess& startBoth(const std::string& what, std::vector<std::string> args = {}) {
        install("a", "contain_" + what);
        writeConfig(config());
        auto& hostd = start(std::move(args));
        EXPECT_TRUE(waitForLog("hostd: ready running=2")) << log();
        EXPECT_EQ(countLog("plugin=a: contain: started"), 1);
        return hostd;
    }
    void expectCleanDrain(HostdProcess& hostd) {
        hostd.signal(SIGTERM);
        EXPECT_EQ(hostd.waitExit(15s), 0) << log();
        EXPECT_EQ(countLog("plugin=b: stopped"), 1);
        EXPECT_EQ(countLog("plugin=a: stopped"), 1);
    }
};

TEST_F(Containment, APluginThatChangesItsDescriptorAfterLoadIsStoppedThroughHostdsCopy) {
    auto& hostd = startBoth("descriptor");  // start set its stop to NULL and added requires = ghost
    expectCleanDrain(hostd);
    EXPECT_EQ(countLog("plugin=a: contain: stopped"), 1);
}

TEST_F(Containment, APluginsChdirDoesNotMoveTheConfigurationHostdRereads) {
    auto& hostd = startBoth("chdir", {"--config=" + fs::relative(configPath()).string()});
    hostd.signal(SIGHUP);
    ASSERT_TRUE(waitForLog("hostd: configuration reloaded")) << log();
    EXPECT_EQ(countLog("configuration file not found"), 0);
    expectCleanDrain(hostd);
}

TEST_F(Containment, APluginThatDup2sOverStderrDoesNotSilenceTheLog) {
    auto& hostd = startBoth("stderr");
    hostd.signal(SIGHUP);  // a line written after the plugin replaced fd 2
    EXPECT_TRUE(waitForLog("hostd: configuration reloaded")) << log();
    expectCleanDrain(hostd);
    EXPECT_EQ(countLog("hostd: drained"), 1);
}

TEST_F(Containment, AThreadThatUnblocksSignalsCannotTurnSigtermIntoAKill) {
    auto& hostd = startBoth("signals");
    hostd.signal(SIGHUP);
    ASSERT_TRUE(waitForLog("hostd: configuration reloaded")) << log();
    expectCleanDrain(hostd);
    EXPECT_EQ(countLog("hostd: draining reason=SIGTERM"), 1);
}

TEST_F(Containment, APluginsOwnCrashHandlerIsReplacedSoALaterCrashIsStillAttributed) {
    // a installs its own SIGSEGV handler in start; c, which starts after a, then crashes.
    install("a", "contain_segv");
    install("c");
    writeConfig(config() + probeSection("c", "requires = a\ncrash = start"));
    auto& first = start();
    EXPECT_EQ(first.waitExit(30s), 128 + SIGSEGV) << log();
    // Named with the plugins whose calls had just completed (a's start, perhaps b's with it).
    EXPECT_EQ(countLog("a plugin replaced hostd's crash handlers; restored (plugin.h: never install signal handlers) "
                       "signals=SIGSEGV,SIGBUS,SIGABRT during_calls_of=a"),
              1)
        << log();
    writeConfig(config() + probeSection("c", "requires = a"));
    auto& second = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=3")) << log();
    EXPECT_EQ(countLog("plugin=c: previous run crashed in plugin c (SIGSEGV in start)"), 1) << log();
    second.signal(SIGTERM);
    EXPECT_EQ(second.waitExit(15s), 0);
}

TEST_F(Containment, APluginThatCallsExitIsNamedCountedAndQuarantinedOnTheThirdRun) {
    install("a", "contain_exit");
    writeConfig(config());
    for (int run = 1; run <= 2; ++run) {
        EXPECT_EQ(start().waitExit(30s), 6) << "run " << run << "\n" << log();
        EXPECT_EQ(countLog("plugin=a: plugin code called exit(); hostd leaves without a drain"), run) << log();
    }
    EXPECT_EQ(countLog("callback=start sha256="), 2);
    EXPECT_EQ(countLog("exit_code=6"), 2);
    auto& third = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1")) << log();
    EXPECT_EQ(countLog("plugin=a: previous run crashed in plugin a (exit in start)"), 2);
    EXPECT_EQ(countLog("plugin=a: quarantined"), 1);
    third.signal(SIGTERM);
    EXPECT_EQ(third.waitExit(15s), 0);
    EXPECT_EQ(countLog("plugin=b: stopped"), 1);
}

}  // namespace
}  // namespace hostd::test
