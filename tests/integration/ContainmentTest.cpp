// In-process containment (issue: thirteen ways a plugin still kills, hangs or silences hostd):
// a plugin that breaks one rule of plugin.h (tests/fixtures/contain/contain.c), beside a
// well-behaved probe. hostd keeps draining, logging, reloading and attributing crashes, or
// names the plugin and counts it towards its quarantine.
#include "Harness.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
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
    /// a, the fixture contain_WHAT, ends two runs with exitCode and line; the third run says why
    /// (crumb) for both, quarantines a, and b starts and drains.
    void expectTwoRunsEndedThenQuarantined(const std::string& what, int exitCode, const std::string& line,
                                           const std::string& crumb) {
        install("a", "contain_" + what);
        writeConfig(config());
        for (int run = 1; run <= 2; ++run) {
            EXPECT_EQ(start().waitExit(30s), exitCode) << "run " << run << "\n" << log();
            EXPECT_EQ(countLog(line), run) << log();
        }
        auto& third = start();
        ASSERT_TRUE(waitForLog("hostd: ready running=1")) << log();
        EXPECT_EQ(countLog("plugin=a: previous run crashed in plugin a (" + crumb + ")"), 2) << log();
        EXPECT_EQ(countLog("plugin=a: quarantined"), 1);
        third.signal(SIGTERM);
        EXPECT_EQ(third.waitExit(15s), 0);
        EXPECT_EQ(countLog("plugin=b: stopped"), 1);
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
    EXPECT_EQ(countLog("plugin=a: hostd's crash handlers were replaced while the plugin's start ran; restored "
                       "(plugin.h: never install signal handlers) signals=SIGSEGV,SIGBUS,SIGABRT"),
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
    expectTwoRunsEndedThenQuarantined("exit", 6, "plugin=a: plugin code called exit(); hostd leaves without a drain",
                                      "exit in start");
    EXPECT_EQ(countLog("callback=start content="), 2);
    EXPECT_EQ(countLog("exit_code=6"), 2);
}

TEST_F(Containment, AChildAPluginForkedAndLeftIsEndedSoNothingKeepsHostdsLock) {
    HOSTD_SKIP_UNDER_THREAD_SANITIZER("hostd is built without its fork guard");
    install("a", "contain_fork");
    std::string pidfile = path("hostd.pid");
    writeConfig(config("pidfile = " + pidfile));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=2")) << log();
    std::string text = log();
    auto at = text.find("contain: forked ");
    ASSERT_NE(at, std::string::npos);
    pid_t child = std::stoi(text.substr(at + 16));
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
    EXPECT_EQ(countLog("plugin=a: a process the plugin forked and left behind still runs; ending it (plugin.h: reap "
                       "what you fork) pid=" +
                       std::to_string(child)),
              1)
        << log();
    EXPECT_TRUE(::kill(child, 0) != 0 && errno == ESRCH) << "the child outlived hostd";
    auto& next = start();  // the pidfile's lock is free: no copy of its descriptor lives on
    EXPECT_TRUE(waitForLog("hostd: ready running=2", 15s, 2)) << log();
    next.signal(SIGTERM);
    EXPECT_EQ(next.waitExit(15s), 0);
}

TEST_F(Containment, APluginThatClosesHostdsDescriptorsIsNamedCountedAndQuarantinedOnTheThirdRun) {
    HOSTD_SKIP_UNDER_THREAD_SANITIZER("hostd is built without its descriptor guard");
    expectTwoRunsEndedThenQuarantined("closefds", 7, "plugin=a: plugin code closed the ", "broke-host in start");
    EXPECT_EQ(countLog("; hostd cannot go on and leaves without a drain callback=start exit_code=7"), 2);
}

TEST_F(Containment, APluginThreadReplacingHostdsDescriptorsIsStoppedBeforeTheDescriptorGoes) {
    HOSTD_SKIP_UNDER_THREAD_SANITIZER("hostd is built without its descriptor guard");
    // No call of hostd's is under way to check after: the dup2 itself is refused, naming the plugin.
    install("a", "contain_dupthread");
    writeConfig(config());
    EXPECT_EQ(start().waitExit(30s), 7) << log();
    EXPECT_EQ(countLog("plugin=a: plugin code replaced the "), 1) << log();
    EXPECT_EQ(countLog("; hostd cannot go on and leaves without a drain callback=own-thread exit_code=7"), 1);
    EXPECT_EQ(countLog("plugin=b: stopped"), 0);
}

TEST_F(Containment, AThreadLeftRunningKeepsItsImageMappedAndItsLateLogLinesAreRefused) {
    HOSTD_SKIP_UNDER_THREAD_SANITIZER("hostd is built without its thread guard");
    auto& hostd = startBoth("threadleft");
    ASSERT_TRUE(waitForLog("plugin=a: contain: tick"));
    fs::remove(pluginDir() + "/a.so");
    ASSERT_TRUE(waitForLog("plugin=a: the plugin left threads running after its last stop")) << log();
    ASSERT_TRUE(waitForLog("plugin=a: the plugin called a host service after its last stop returned")) << log();
    EXPECT_EQ(countLog("plugin=a: the plugin left threads running after its last stop (plugin.h: join your threads in "
                       "stop); its image stays mapped, hot upgrades of this plugin are refused until hostd restarts "
                       "threads=1"),
              1);
    int ticks = countLog("plugin=a: contain: tick");
    install("c");  // time passes: the thread runs on, in its mapped image, and is not heard
    ASSERT_TRUE(waitForLog("plugin=c: started")) << log();
    install("a", "contain_threadleft");
    ASSERT_TRUE(waitForLog("plugin=a: restart hostd to upgrade a")) << log();
    EXPECT_EQ(countLog("plugin=a: contain: tick"), ticks);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0) << log();  // leaves with the thread still running, without a crash
    EXPECT_EQ(countLog("plugin=b: stopped"), 1);
    EXPECT_EQ(countLog("plugin=a: the plugin called a host service after its last stop returned"), 1);
}

TEST_F(Containment, ACrashInAThreadLeftAfterStopIsAttributedToItsPlugin) {
    HOSTD_SKIP_UNDER_THREAD_SANITIZER("hostd is built without its thread guard");
    auto& first = startBoth("threadcrash");
    fs::remove(pluginDir() + "/a.so");  // the image stays mapped under the thread, which then crashes
    EXPECT_EQ(first.waitExit(30s), 128 + SIGILL) << log();
    EXPECT_EQ(countLog("plugin=a: the plugin left threads running after its last stop"), 1) << log();
    auto& second = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1", 15s, 1)) << log();
    EXPECT_EQ(countLog("plugin=a: previous run crashed in plugin a (SIGILL in own-thread)"), 1) << log();
    second.signal(SIGTERM);
    EXPECT_EQ(second.waitExit(15s), 0);
}

TEST_F(Containment, AKeyDestructorOfAPluginRunsOnlyWhileItsImageIsMapped) {
    HOSTD_SKIP_UNDER_THREAD_SANITIZER("hostd is built without its thread guard");
    // The key's value on a thread of the plugin's that ends after the file is gone: its
    // destructor runs in the image kept for that thread.
    auto& hostd = startBoth("keyleft");
    fs::remove(pluginDir() + "/a.so");
    ASSERT_TRUE(waitForLog("plugin=a: the plugin left threads running after its last stop")) << log();
    install("c");
    ASSERT_TRUE(waitForLog("plugin=c: started")) << log();
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0) << log();
    EXPECT_EQ(countLog("plugin=c: stopped"), 1);
}

TEST_F(Containment, APluginLoggingAsFastAsItCanIsHeldToItsRateLimit) {
    install("a", "contain_logflood");
    writeConfig(config("", "log_rate_limit = 200"));
    auto began = std::chrono::steady_clock::now();
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=2")) << log();
    ASSERT_TRUE(waitForLog("plugin=a: plugin lines suppressed: more than log_rate_limit a second suppressed="));
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    int lines = countLog("plugin=a: contain: flood");
    EXPECT_GT(lines, 0);
    EXPECT_LE(lines, 200 * (seconds + 1)) << "over " << seconds << " s";  // a second's burst, then 200 a second
    EXPECT_EQ(countLog("plugin=b: stopped"), 1);
}

TEST_F(Containment, ALogNobodyReadsNeitherStallsTheDrainNorBlamesTheOthers) {
    // hostd's stderr is a pipe nobody reads, and a plugin floods it: lines are dropped, the loop
    // and the drain never wait for the pipe, and the well-behaved plugin stops within its time.
    install("a", "contain_logflood");
    writeConfig(config("plugin_stop_timeout = 2s\nlog_rate_limit = 0"));
    int pipeFds[2];
    ASSERT_EQ(::pipe2(pipeFds, O_CLOEXEC), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::dup2(pipeFds[1], 2);
        ::execl(HOSTD_BINARY_PATH, HOSTD_BINARY_PATH, ("--config=" + configPath()).c_str(), nullptr);
        ::_exit(127);
    }
    ::close(pipeFds[1]);
    auto full = [&] {
        int queued = 0;
        return ::ioctl(pipeFds[0], FIONREAD, &queued) == 0 && queued >= 60000;
    };
    bool started = waitForEvents([](auto& ev) { return names(ev) == std::vector<std::string>{"b"}; });
    bool filled = started && waitUntil(full, 15s);
    ::kill(pid, SIGTERM);
    int status = 0;
    bool exited = waitUntil([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 15s);
    if (!exited) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
    }
    ::close(pipeFds[0]);
    EXPECT_TRUE(started && filled);
    ASSERT_TRUE(exited) << "the drain waited for a pipe nobody reads";
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;  // nobody overran
    EXPECT_EQ(events("stop").size(), 1u);
}

}  // namespace
}  // namespace hostd::test
