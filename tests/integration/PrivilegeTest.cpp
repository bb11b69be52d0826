// Least privilege and resource limits, checked in /proc of the real daemon: every thread runs
// as the configured user with only the configured capabilities, and the one it keeps is the
// one that lets a plugin bind a port below 1024.
#include "DaemonSupport.h"

#include <arpa/inet.h>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hostd::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kNetBindServiceOnly = "0000000000000400";  // bit 10, CAP_NET_BIND_SERVICE
constexpr const char* kNoCapabilities = "0000000000000000";

/// Sends text to 127.0.0.1:port and returns what comes back ("" on any failure).
std::string echoThrough(int port, const std::string& text) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::string reply;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size())) {
        char buf[256];
        while (reply.size() < text.size()) {
            ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            reply.append(buf, static_cast<std::size_t>(n));
        }
    }
    ::close(fd);
    return reply;
}

/// The example plugins: echo (a TCP service; requires heartbeat) on a port below 1024.
class Privileges : public HostdTest {
protected:
    void SetUp() override {
        if (!runningAsRoot()) GTEST_SKIP() << "changing users and keeping capabilities needs root (CI runs as root)";
        HostdTest::SetUp();
        copyPlugin(HOSTD_HEARTBEAT_PLUGIN, pluginDir(), "heartbeat");
        copyPlugin(HOSTD_ECHO_PLUGIN, pluginDir(), "echo");
        _port = freePrivilegedPort();
        ASSERT_GT(_port, 0);
    }

    std::string plugins() const {
        return "[plugin.heartbeat]\ninterval = 1s\n\n[plugin.echo]\nlisten = 127.0.0.1:" + std::to_string(_port) + "\n";
    }

    /// Expects every thread of pid to run as nobody/nogroup with exactly `capabilities`.
    void expectEveryThreadIsNobodyWith(pid_t pid, const std::string& capabilities) {
        auto tasks = threadsOf(pid);
        EXPECT_GT(tasks.size(), 1u) << "the plugins' threads must be checked too";
        for (pid_t tid : tasks) {
            auto s = procStatus(pid, tid);
            SCOPED_TRACE("thread " + std::to_string(tid) + " (" + s["Name"] + ")");
            EXPECT_EQ(s["Uid"], "65534\t65534\t65534\t65534");
            EXPECT_EQ(s["Gid"], "65534\t65534\t65534\t65534");
            EXPECT_EQ(s["Groups"], "65534 ");  // the kernel ends the list with a space
            EXPECT_EQ(s["CapEff"], capabilities);
            EXPECT_EQ(s["CapPrm"], capabilities);
            EXPECT_EQ(s["CapBnd"], capabilities);
            EXPECT_EQ(s["CapInh"], kNoCapabilities);
            EXPECT_EQ(s["CapAmb"], kNoCapabilities);
            EXPECT_EQ(s["NoNewPrivs"], "1");
        }
    }

    int _port = 0;
};

TEST_F(Privileges, DropsToNobodyKeepingOnlyNetBindServiceInEveryThread) {
    writeConfig(hostSection("user = nobody\ngroup = nogroup\ncapabilities = cap_net_bind_service") + plugins());
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=2 failed=0"));
    auto status = procStatus(hostd.pid());
    EXPECT_EQ(status["Uid"], "65534\t65534\t65534\t65534");
    expectEveryThreadIsNobodyWith(hostd.pid(), kNetBindServiceOnly);
    EXPECT_EQ(countLog("hostd: process identity uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup) "
                       "capabilities=cap_net_bind_service no_new_privs=1"),
              1);
    EXPECT_LT(log().find("process identity"), log().find("plugin=echo: listening")) << "dropped before plugins ran";
    EXPECT_EQ(echoThrough(_port, "over a privileged port\n"), "over a privileged port\n");
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(30s), 0);
}

TEST_F(Privileges, HostdKeepsForItsRunnersWhatTheirConfinementNeedsAndUsesNoneOfIt) {
    // hostd as nobody with no capability of its own; echo isolated, running as nobody too,
    // given cap_net_bind_service: hostd keeps it permitted and ambient (not effective) for it.
    writeConfig(hostSection("user = nobody\ngroup = nogroup\ncapabilities = none") + plugins() +
                "isolation = process\ncapabilities = cap_net_bind_service\n");
    auto& check = start({"--check-config"});
    EXPECT_EQ(check.waitExit(30s), 0);
    EXPECT_EQ(countLog("isolated plugins need these capabilities of hostd: cap_net_bind_service (capabilities of "
                       "plugin.echo)"),
              1)
        << log();
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=2 failed=0")) << log();
    auto status = procStatus(hostd.pid());
    EXPECT_EQ(status["CapEff"], kNoCapabilities);
    EXPECT_EQ(status["CapPrm"], kNetBindServiceOnly);
    EXPECT_EQ(status["CapAmb"], kNetBindServiceOnly);
    EXPECT_EQ(echoThrough(_port, "through a runner\n"), "through a runner\n");
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(30s), 0);
}

TEST_F(Privileges, ARunningPluginsFileMadeUnreadableToHostdsUserIsReportedAtOnce) {
    // Root's, mode 0600: trusted, but hostd (nobody) could not read its next version.
    writeConfig(hostSection("user = nobody\ngroup = nogroup\ncapabilities = cap_net_bind_service") + plugins());
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=2 failed=0"));
    std::string file = pluginDir() + "/heartbeat.so";
    ::chmod(file.c_str(), 0600);
    ASSERT_TRUE(waitForLog("plugin=heartbeat: file fails the trust checks; the running version stays, a new version would "
                           "be refused file=" + file + " error=\"cannot open: Permission denied\""))
        << log();
    ::chmod(file.c_str(), 0644);
    ASSERT_TRUE(waitForLog("plugin=heartbeat: file passes the trust checks again"));
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(30s), 0);
}

TEST_F(Privileges, WithoutTheCapabilityAPortBelow1024IsRefused) {
    writeConfig(hostSection("user = nobody") + plugins());
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1 failed=1"));
    EXPECT_EQ(countLog("Permission denied"), 1) << log();
    expectEveryThreadIsNobodyWith(hostd.pid(), kNoCapabilities);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(30s), 0);
}

TEST_F(Privileges, UnknownUserIsAStartupErrorAlsoThroughTheDaemonPipe) {
    HOSTD_SKIP_UNDER_THREAD_SANITIZER("its runtime thread makes --daemon refuse to drop privileges (ids are per thread)");
    writeConfig(hostSection("user = no-such-user-hostd"));
    EXPECT_EQ(start().waitExit(30s), 78);
    EXPECT_EQ(countLog(configPath() + ":3: user = 'no-such-user-hostd': no such user"), 1) << log();
    EXPECT_EQ(start({"--daemon"}).waitExit(30s), 78);
    EXPECT_EQ(countLog(configPath() + ":3: user = 'no-such-user-hostd': no such user"), 2) << log();
}

TEST_F(Privileges, StartedWithoutRootOnlyConfiguredCapabilitiesRemain) {
    HOSTD_SKIP_UNDER_THREAD_SANITIZER("its runtime thread makes --daemon refuse to drop privileges (ids are per thread)");
    if (!haveCommand("setpriv")) GTEST_SKIP() << "setpriv (util-linux) is not installed";
    // A directory nobody may write, for the pidfile of the daemon started as nobody.
    std::string run = path("run");
    fs::create_directory(run);
    ::chown(run.c_str(), 65534, 65534);
    std::ofstream(controlDropin()) << "[hostd]\ncontrol_socket = " << run << "/control.sock\n";  // and its socket
    writeConfig(hostSection("capabilities = cap_net_bind_service") + plugins());
    // As systemd's User= with AmbientCapabilities= would start it: two capabilities, one configured.
    auto result = runCommand({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                              "--inh-caps=+net_bind_service,+net_raw", "--ambient-caps=+net_bind_service,+net_raw",
                              HOSTD_BINARY_PATH, "--daemon", "--pidfile=" + run + "/hostd.pid", "--config=" + configPath()});
    ASSERT_EQ(result.exitCode, 0) << result.output;
    DaemonReaper reaper;
    pid_t pid = readPidFile(run + "/hostd.pid");
    reaper.watch(pid);
    ASSERT_GT(pid, 0);
    for (pid_t tid : threadsOf(pid)) {
        auto s = procStatus(pid, tid);
        EXPECT_EQ(s["Uid"], "65534\t65534\t65534\t65534");
        EXPECT_EQ(s["CapEff"], kNetBindServiceOnly);
        EXPECT_EQ(s["CapPrm"], kNetBindServiceOnly);
        EXPECT_EQ(s["CapAmb"], kNoCapabilities);
        EXPECT_EQ(s["CapInh"], kNoCapabilities);
        EXPECT_EQ(s["NoNewPrivs"], "1");
    }
    EXPECT_EQ(echoThrough(_port, "kept\n"), "kept\n");
    ::kill(pid, SIGTERM);
    EXPECT_TRUE(waitUntil([&] { return gone(pid); }, 30s));
    EXPECT_FALSE(fs::exists(run + "/hostd.pid"));
}

class AccountCheck : public HostdTest {};

TEST_F(AccountCheck, CheckConfigRejectsAUserOrGroupThatDoesNotExist) {
    writeConfig(hostSection("user = no-such-user-hostd\ngroup = no-such-group-hostd"));
    auto bad = runCommand({HOSTD_BINARY_PATH, "--check-config", "--config=" + configPath()});
    EXPECT_EQ(bad.exitCode, 78) << bad.output;
    EXPECT_NE(bad.output.find(configPath() + ":3: user 'no-such-user-hostd' does not exist on this system"),
              std::string::npos) << bad.output;
    EXPECT_NE(bad.output.find(configPath() + ":4: group 'no-such-group-hostd' does not exist on this system"),
              std::string::npos) << bad.output;
    writeConfig(hostSection("user = root\ngroup = 0"));
    auto good = runCommand({HOSTD_BINARY_PATH, "--check-config", "--config=" + configPath()});
    EXPECT_EQ(good.exitCode, 0) << good.output;
}

class Limits : public HostdTest {};

TEST_F(Limits, ConfiguredLimitsAreInProcLimits) {
    writeConfig(hostSection("rlimit_nofile = 1000:2000\nrlimit_core = 0\nrlimit_fsize = 1G:2G"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready"));
    EXPECT_EQ(limitLine(hostd.pid(), "Max open files"), "Max open files 1000 2000 files");
    EXPECT_EQ(limitLine(hostd.pid(), "Max core file size"), "Max core file size 0 0 bytes");
    EXPECT_EQ(limitLine(hostd.pid(), "Max file size"), "Max file size 1073741824 2147483648 bytes");
    EXPECT_EQ(countLog("hostd: resource limits limits=\"nofile=1000:2000 core=0:0 fsize=1073741824:2147483648\""), 1)
        << log();
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(30s), 0);
}

TEST_F(Limits, TheDescriptorTableIsGrownBeforeAnyThreadSharesIt) {
    // Grown later, with threads sharing it, each doubling waits for an RCU grace period in the
    // middle of loading a plugin (Rlimits.h). FDSize is the table's size now: without the early
    // growth a hostd with a few plugins has 64 slots.
    writeConfig(hostSection("rlimit_nofile = 1000:2000"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready"));
    EXPECT_GE(std::stoi(procStatus(hostd.pid())["FDSize"]), 1000);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(30s), 0);
}

TEST_F(Limits, OpenFilesSoftLimitIsRaisedToTheHardLimitByDefault) {
    writeConfig(hostSection());
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready"));
    std::istringstream line(limitLine(hostd.pid(), "Max open files").substr(std::string("Max open files ").size()));
    std::string soft, hard;
    line >> soft >> hard;
    EXPECT_EQ(soft, hard);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(30s), 0);
}

}  // namespace
}  // namespace hostd::test
