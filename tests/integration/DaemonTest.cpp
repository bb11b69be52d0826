// --daemon and the pidfile: the invoker returns once the daemon is ready or prints why it
// could not start; the daemon is detached (not a session leader, cwd /, umask 027, stdio on
// /dev/null, no inherited descriptors); one instance per pidfile; stale files taken over.
#include "DaemonSupport.h"

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace hostd::test {
namespace {

namespace fs = std::filesystem;

class Daemon : public HostdTest {
protected:
    void TearDown() override {
        _reaper.killAll();
        HostdTest::TearDown();
    }

    std::string pidfile() const { return path("hostd.pid"); }

    /// Runs `hostd --daemon --pidfile=...` plus args and returns the invoker's exit code.
    int invoke(std::vector<std::string> args = {}) {
        args.insert(args.begin(), {"--daemon", "--pidfile=" + pidfile()});
        auto code = start(args).waitExit(60s);
        _hostd.reset();
        return code.value_or(-1);
    }

    /// Starts a daemon that must come up; returns its pid (from the pidfile).
    pid_t startDaemon(std::vector<std::string> args = {}) {
        int code = invoke(std::move(args));
        EXPECT_EQ(code, 0) << log();
        pid_t pid = readPidFile(pidfile());
        _reaper.watch(pid);
        return pid;
    }

    /// SIGTERM, then waits until the process is gone.
    bool stop(pid_t pid) {
        ::kill(pid, SIGTERM);
        return waitUntil([&] { return gone(pid); }, 30s);
    }

    DaemonReaper _reaper;
};

TEST_F(Daemon, InvokerReturnsOnlyOnceTheDaemonIsReady) {
    install("a");
    writeConfig(hostSection() + probeSection("a", "start_delay_ms = 700"));
    auto before = std::chrono::steady_clock::now();
    pid_t pid = startDaemon();
    auto took = std::chrono::steady_clock::now() - before;
    ASSERT_GT(pid, 0);
    EXPECT_GE(took, 700ms) << "the invoker returned before the plugin's start had finished";
    ASSERT_EQ(events("start").size(), 1u);
    EXPECT_EQ(events("start")[0].pid, pid) << "the pidfile names the process that runs the plugins";
    EXPECT_FALSE(gone(pid));
    EXPECT_TRUE(log().empty()) << "a successful start prints nothing: " << log();
}

TEST_F(Daemon, DaemonIsDetachedFromEverythingOfTheInvoker) {
    writeConfig(hostSection());
    // A descriptor without O_CLOEXEC, as an init script's shell might leak to its children.
    int leaked = ::open(path("leaked").c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(leaked, 0);
    pid_t pid = startDaemon();
    ::close(leaked);
    ASSERT_GT(pid, 0);

    auto stat = procStat(pid);
    ASSERT_GE(stat.size(), 8u);
    EXPECT_NE(stat[6], std::to_string(pid)) << "session id: the daemon must not be a session leader";
    EXPECT_NE(stat[5], std::to_string(pid)) << "process group";
    EXPECT_EQ(stat[7], "0") << "no controlling terminal";
    EXPECT_NE(stat[4], std::to_string(::getpid())) << "reparented away from the invoker's parent";
    EXPECT_EQ(fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd"), "/");
    EXPECT_EQ(procStatus(pid)["Umask"], "0027");
    for (int fd = 0; fd <= 2; ++fd) EXPECT_EQ(fdTarget(pid, fd), "/dev/null") << "fd " << fd;
    for (const auto& file : openFiles(pid)) EXPECT_NE(file, path("leaked")) << "inherited descriptor kept open";

    EXPECT_TRUE(stop(pid));
    EXPECT_FALSE(fs::exists(pidfile())) << "the pidfile is removed on a clean exit";
}

TEST_F(Daemon, StartFailureIsPrintedByTheInvokerWithItsExitCode) {
    writeConfig(hostSection());
    // Fails after the fork, in the daemon: the message crosses the pipe.
    EXPECT_EQ(start({"--daemon", "--pidfile=" + path("no/such/dir/hostd.pid")}).waitExit(60s), 71);
    EXPECT_EQ(countLog("cannot open pidfile " + path("no/such/dir/hostd.pid") + ": " + path("no") + ": No such file or directory"), 1) << log();
}

TEST_F(Daemon, InvalidConfigurationIsReportedBeforeDetaching) {
    writeConfig(hostSection("rlimit_core = lots"));
    EXPECT_EQ(invoke(), 78);
    EXPECT_EQ(countLog(configPath() + ":3: rlimit_core = 'lots' is not a limit"), 1) << log();
    EXPECT_FALSE(fs::exists(pidfile()));
}

TEST_F(Daemon, SecondInstanceIsRefusedWithThePidOfTheFirst) {
    writeConfig(hostSection());
    pid_t first = startDaemon();
    ASSERT_GT(first, 0);
    std::string refusal = "hostd already running (pid " + std::to_string(first) + ", pidfile " + pidfile() + ")";
    EXPECT_EQ(invoke(), 71);
    EXPECT_EQ(countLog(refusal), 1) << log();
    // In the foreground too, and at once.
    auto& foreground = start({"--pidfile=" + pidfile()});
    EXPECT_EQ(foreground.waitExit(30s), 71);
    EXPECT_EQ(countLog(refusal), 2) << log();
    EXPECT_FALSE(gone(first));
    EXPECT_EQ(readPidFile(pidfile()), first) << "the refused instances must leave the file alone";
}

TEST_F(Daemon, StalePidfileOfAKilledInstanceIsTakenOver) {
    writeConfig(hostSection());
    pid_t killed = startDaemon();
    ASSERT_GT(killed, 0);
    ::kill(killed, SIGKILL);
    ASSERT_TRUE(waitUntil([&] { return gone(killed); }, 15s));
    ASSERT_EQ(readPidFile(pidfile()), killed) << "a killed instance leaves its file";
    pid_t next = startDaemon();
    EXPECT_GT(next, 0);
    EXPECT_NE(next, killed);
    EXPECT_EQ(readPidFile(pidfile()), next);
}

TEST_F(Daemon, InvokerReportsADaemonThatDiedBeforeItWasReady) {
    install("a");
    writeConfig(hostSection() + probeSection("a", "start_delay_ms = 60000"));
    auto& invoker = start({"--daemon", "--pidfile=" + pidfile()});
    ASSERT_TRUE(waitUntil([&] { return readPidFile(pidfile()) > 0; }, 30s));
    pid_t daemon = readPidFile(pidfile());
    _reaper.watch(daemon);
    EXPECT_TRUE(invoker.running()) << "the plugin has not started yet";
    ::kill(daemon, SIGKILL);
    EXPECT_EQ(invoker.waitExit(30s), 70);
    EXPECT_EQ(countLog("hostd: the daemon exited before it was ready"), 1) << log();
}

TEST_F(Daemon, ReloadReadsARelativeConfigPathFromWhereTheInvokerRan) {
    install("a");
    writeConfig(hostSection() + probeSection("a", "x = 1"));
    std::string relative = fs::relative(configPath(), fs::current_path()).string();
    ASSERT_NE(relative.front(), '/');
    pid_t pid = startDaemon({"--config=" + relative});
    ASSERT_GT(pid, 0);
    writeConfig(hostSection() + probeSection("a", "x = 2"));
    ::kill(pid, SIGHUP);
    EXPECT_TRUE(waitForEvents([](auto& e) { return std::count_if(e.begin(), e.end(), [](auto& x) { return x.kind == "reload"; }) == 1; }))
        << "the daemon runs in / and must still find the file";
    EXPECT_TRUE(stop(pid));
}

TEST_F(Daemon, ForegroundPidfileFromTheConfigurationIsRemovedOnCleanExit) {
    writeConfig(hostSection("pidfile = " + pidfile()));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready"));
    EXPECT_EQ(readPidFile(pidfile()), hostd.pid());
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(30s), 0);
    EXPECT_FALSE(fs::exists(pidfile()));
}

}  // namespace
}  // namespace hostd::test
