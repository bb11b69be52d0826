// Least privilege per isolated plugin: user, group, capabilities, rlimits and the seccomp filter
// its runner applies, observed from /proc/PID/status of the runner (hostd runs as root here).
#include "IsolationSupport.h"

#include <fstream>
#include <map>
#include <sstream>

namespace hostd::test {

// From DaemonSupport.h, whose CommandResult is not ControlSupport.h's.
void copyPlugin(const std::string& from, const std::string& pluginDir, const std::string& name);
int freePrivilegedPort();

namespace {

/// The fields of /proc/PID/status ("Uid", "CapEff", ...), or empty if it is gone.
std::map<std::string, std::string> status(int pid) {
    std::map<std::string, std::string> out;
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        out[line.substr(0, colon)] = value;
    }
    return out;
}

/// The soft limit line of /proc/PID/limits for name ("Max open files").
std::string limit(int pid, const std::string& name) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
    for (std::string line; std::getline(in, line);)
        if (line.rfind(name, 0) == 0) {
            std::istringstream fields(line.substr(name.size()));
            std::string soft;
            fields >> soft;
            return soft;
        }
    return "";
}

class IsolationPrivilege : public Isolation {
protected:
    int runnerOf(const std::string& plugin) {
        auto plugins = json({"list"})->getArray("plugins");
        for (std::size_t i = 0; i < plugins->size(); ++i)
            if (plugins->getObject(static_cast<unsigned>(i))->getValue<std::string>("name") == plugin)
                return plugins->getObject(static_cast<unsigned>(i))->getValue<int>("runner_pid");
        return 0;
    }
};

TEST_F(IsolationPrivilege, EchoRunsAsNobodyWithOnlyNetBindServiceUnderTheStrictFilterAndBindsBelow1024) {
    int port = freePrivilegedPort();
    copyPlugin(HOSTD_ECHO_PLUGIN, pluginDir(), "echo");
    copyPlugin(HOSTD_HEARTBEAT_PLUGIN, pluginDir(), "heartbeat");  // echo requires it
    writeConfig(hostSection() + probeSection("b") +
                "[plugin.echo]\nisolation = process\nuser = nobody\ncapabilities = cap_net_bind_service\nseccomp = strict\n"
                "rlimit_nofile = 256\nlisten = 127.0.0.1:" + std::to_string(port) + "\n");
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=3")) << log();
    EXPECT_EQ(countLog("plugin=echo: listening on 127.0.0.1:" + std::to_string(port)), 1) << log();
    int runner = runnerOf("echo");
    ASSERT_GT(runner, 0);
    auto s = status(runner);
    EXPECT_EQ(s["Uid"], "65534\t65534\t65534\t65534");
    EXPECT_EQ(s["Gid"], "65534\t65534\t65534\t65534");
    EXPECT_EQ(s["CapEff"], "0000000000000400");  // cap_net_bind_service alone
    EXPECT_EQ(s["CapPrm"], "0000000000000400");
    EXPECT_EQ(s["CapBnd"], "0000000000000400");
    EXPECT_EQ(s["NoNewPrivs"], "1");
    EXPECT_EQ(s["Seccomp"], "2");
    EXPECT_EQ(limit(runner, "Max open files"), "256");
    EXPECT_EQ(status(hostd.pid())["Uid"].substr(0, 1), "0");  // hostd itself is untouched
    drainExpecting(hostd, 0);
    EXPECT_EQ(countLog("plugin=echo: stopped"), 1);
}

TEST_F(IsolationPrivilege, ASystemCallTheFilterRefusesKillsTheRunnerAndIsNamed) {
    auto& hostd = startWith("contain_module", "", "hostd: ready running=1 failed=1");  // seccomp = default
    EXPECT_EQ(countLog("plugin=a: contain: calling init_module"), 1);
    EXPECT_EQ(countLog("error=\"failed: its runner was killed by seccomp: init_module in start\""), 1) << log();
    drainExpecting(hostd, 0);
}

TEST_F(IsolationPrivilege, SeccompAllowLetsTheCallThroughAndOffInstallsNoFilter) {
    auto& hostd = startWith("contain_module", "seccomp_allow = init_module", "hostd: ready running=2");
    install("c", "contain_module");
    ASSERT_TRUE(waitForLog("plugin=c: started")) << log();  // c is in hostd's process: no filter at all
    EXPECT_EQ(status(hostd.pid())["Seccomp"], "0");
    drainExpecting(hostd, 0);
}

TEST_F(IsolationPrivilege, AChangedConfinementRestartsThePluginInANewRunner) {
    auto& hostd = startWith("probe", "seccomp = off", "hostd: ready running=2");
    int first = runnerOf("a");
    EXPECT_EQ(status(first)["Seccomp"], "0");
    writeConfig(config("seccomp = strict"));
    ASSERT_TRUE(waitForLog("plugin=a: confinement changed; restarting it in a new runner")) << log();
    ASSERT_TRUE(waitForLog("plugin=a: started", 15s, 2)) << log();
    int second = runnerOf("a");
    EXPECT_NE(second, first);
    EXPECT_EQ(status(second)["Seccomp"], "2");
    EXPECT_TRUE(waitUntil([&] { return processGone(first); }, 15s));
    drainExpecting(hostd, 0);
}

TEST_F(IsolationPrivilege, ConfinementKeysOfAPluginInHostdsProcessAreRefusedWithTheirLine) {
    writeConfig(hostSection() + probeSection("b", "user = nobody\nseccomp = strict"));
    auto& check = start({"--check-config"});
    EXPECT_EQ(check.waitExit(15s), 78);
    EXPECT_EQ(countLog(configPath() + ":6: user applies only to an isolated plugin (isolation = process)"), 1) << log();
    EXPECT_EQ(countLog(configPath() + ":7: seccomp applies only to an isolated plugin"), 1) << log();
}

TEST_F(IsolationPrivilege, AnUnknownUserIsALoadFailureNamingIt) {
    auto& hostd = startWith("probe", "user = no-such-user-here", "hostd: ready running=1");
    EXPECT_EQ(countLog("plugin=a: cannot load plugin"), 1) << log();
    EXPECT_EQ(countLog("user = no-such-user-here: no such user"), 1) << log();
    drainExpecting(hostd, 0);
}

}  // namespace
}  // namespace hostd::test
