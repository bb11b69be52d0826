// Configuration at runtime: edits by sed -i and by editors, drop-ins, invalid edits, and what a
// reload changes (only the changed plugin is called; enable/disable; requires).
#include "Harness.h"

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace hostd::test {
namespace {

using Names = std::vector<std::string>;

class ConfigReload : public BothIsolations {
protected:
    void SetUp() override {
        BothIsolations::SetUp();
        for (auto n : {"a", "b"}) install(n);
    }

    void writeDropin(const std::string& name, const std::string& text) const {
        fs::create_directories(configPath() + ".d");
        std::ofstream(configPath() + ".d/" + name) << text;
    }

    HostdProcess& startAB(const std::string& aExtra = "color = red", const std::string& bExtra = "color = blue") {
        writeConfig(hostSection() + probeSection("a", aExtra) + probeSection("b", bExtra));
        auto& hostd = start();
        EXPECT_TRUE(waitForLog("hostd: ready running=2"));
        return hostd;
    }

    void stopAndExpectClean(HostdProcess& hostd) {
        hostd.signal(SIGTERM);
        EXPECT_EQ(hostd.waitExit(30s), 0);
    }
};

HOSTD_IN_BOTH_ISOLATIONS(ConfigReload);

TEST_P(ConfigReload, SedInPlaceEditReloadsOnlyTheChangedPlugin) {
    auto& hostd = startAB();
    std::string cmd = "sed -i 's/color = red/color = green/' " + configPath();
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    ASSERT_TRUE(waitForLog("plugin=a: reloaded"));
    ASSERT_TRUE(waitForLog("reason=\"configuration file changed\""));
    EXPECT_EQ(names(events("reload")), (Names{"a"}));
    stopAndExpectClean(hostd);
}

TEST_P(ConfigReload, EditorStyleWriteTempAndRenameIsSeen) {
    auto& hostd = startAB();
    writeConfig(hostSection() + probeSection("a", "color = red") + probeSection("b", "color = black"));
    ASSERT_TRUE(waitForLog("plugin=b: reloaded"));
    EXPECT_EQ(names(events("reload")), (Names{"b"}));
    stopAndExpectClean(hostd);
}

TEST_P(ConfigReload, KeysThatNeedARestartAreNamedAndTheRestIsApplied) {
    auto& hostd = startAB();
    writeConfig(hostSection("rlimit_core = 0\npidfile = " + path("new.pid")) + probeSection("a", "color = green") +
                probeSection("b", "color = blue"));
    ASSERT_TRUE(waitForLog("plugin=a: reloaded"));
    EXPECT_EQ(countLog("configuration key changed; it takes effect when hostd restarts key=rlimit_core value=0 "
                       "running_with=\"\" config=" + configPath() + ":3"), 1) << log();
    EXPECT_EQ(countLog("takes effect when hostd restarts key=pidfile value=" + path("new.pid")), 1) << log();
    EXPECT_EQ(countLog("takes effect when hostd restarts"), 2) << log();
    EXPECT_FALSE(fs::exists(path("new.pid")));
    stopAndExpectClean(hostd);
}

TEST_P(ConfigReload, DropinAddedAndRemovedOverridesAndRestoresAValue) {
    auto& hostd = startAB();
    writeDropin("50-a.conf", "[plugin.a]\ncolor = purple\n");
    ASSERT_TRUE(waitForLog("plugin=a: reloaded"));
    fs::remove(configPath() + ".d/50-a.conf");
    ASSERT_TRUE(waitForLog("plugin=a: reloaded", 15s, 2));
    EXPECT_EQ(names(events("reload")), (Names{"a", "a"}));
    fs::create_directories(configPath() + ".d");
    std::ofstream(configPath() + ".d/README") << "not a .conf file";
    hostd.signal(SIGHUP);  // an ordered point after the README write
    ASSERT_TRUE(waitForLog("reason=SIGHUP"));
    ASSERT_TRUE(waitForLog("hostd: configuration reloaded", 15s, 3));
    EXPECT_EQ(names(events("reload")), (Names{"a", "a"}));
    stopAndExpectClean(hostd);
}

TEST_P(ConfigReload, InvalidEditKeepsTheOldConfigurationAndAFixIsApplied) {
    auto& hostd = startAB();
    writeConfig(hostSection() + probeSection("a", "color = green\nstop_timeout = forever") + probeSection("b", "color = blue"));
    ASSERT_TRUE(waitForLog("configuration reload failed; keeping the previous configuration"));
    EXPECT_GE(countLog(configPath() + ":7: stop_timeout = 'forever' is not a duration"), 1);
    EXPECT_TRUE(events("reload").empty());
    writeConfig(hostSection() + probeSection("a", "color = green\nstop_timeout = 5s") + probeSection("b", "color = blue"));
    ASSERT_TRUE(waitForLog("plugin=a: reloaded"));
    EXPECT_EQ(names(events("reload")), (Names{"a"}));
    stopAndExpectClean(hostd);
}

TEST_P(ConfigReload, ReloadRefusedByThePluginKeepsItRunning) {
    auto& hostd = startAB();
    writeConfig(hostSection() + probeSection("a", "color = red\nfail = reload") + probeSection("b", "color = blue"));
    ASSERT_TRUE(waitForLog("plugin=a: reload refused; the plugin keeps running with its previous configuration "
                           "error=\"failed: probe: injected failure in reload\""));
    EXPECT_TRUE(events("stop").empty());
    stopAndExpectClean(hostd);
}

TEST_P(ConfigReload, DisablingDrainsThePluginAndItsDependentsEnablingStartsThemAgain) {
    install("c");
    writeConfig(hostSection() + probeSection("a") + probeSection("b", "requires = a") + probeSection("c"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=3"));
    writeConfig(hostSection() + probeSection("a", "enabled = false") + probeSection("b", "requires = a") + probeSection("c"));
    ASSERT_TRUE(waitForEvents([](auto& ev) { return ev.size() == 5; }));
    EXPECT_EQ(names(events("stop")), (Names{"b", "a"}));
    ASSERT_TRUE(waitForLog("plugin=b: not started reason=\"blocked by a (disabled)\""));
    writeConfig(hostSection() + probeSection("a", "enabled = true") + probeSection("b", "requires = a") + probeSection("c"));
    ASSERT_TRUE(waitForEvents([](auto& ev) { return ev.size() == 7; }));
    auto starts = names(events("start"));
    EXPECT_EQ(Names(starts.end() - 2, starts.end()), (Names{"a", "b"}));
    EXPECT_EQ(count_if(starts.begin(), starts.end(), [](auto& n) { return n == "c"; }), 1);
    stopAndExpectClean(hostd);
}

TEST_P(ConfigReload, ChangedRequiresRestartsThePluginInTheNewOrder) {
    auto& hostd = startAB();
    writeConfig(hostSection() + probeSection("a", "color = red") + probeSection("b", "color = blue\nrequires = a"));
    ASSERT_TRUE(waitForLog("plugin=b: requires changed; restarting in the new order"));
    ASSERT_TRUE(waitForEvents([](auto& ev) { return ev.size() == 4; }));
    EXPECT_EQ(names(events("stop")), (Names{"b"}));
    // From now on b stops before a.
    hostd.signal(SIGTERM);
    ASSERT_EQ(hostd.waitExit(30s), 0);
    auto stops = names(events("stop"));
    EXPECT_EQ(Names(stops.end() - 2, stops.end()), (Names{"b", "a"}));
}

TEST_P(ConfigReload, ChangedPluginDirIsWatchedAndReconciled) {
    auto& hostd = startAB();
    std::string other = path("other");
    fs::create_directory(other);
    fs::permissions(other, fs::perms(0755));
    fs::copy_file(std::string(HOSTD_FIXTURE_DIR) + "/probe.so", other + "/c.so");
    fs::permissions(other + "/c.so", fs::perms(0644));
    writeConfig("[hostd]\nplugin_dir = " + other + "\n" + probeSection("a") + probeSection("b") + probeSection("c"));
    ASSERT_TRUE(waitForLog("plugin=c: started"));
    ASSERT_TRUE(waitForLog("plugin=a: removed"));
    ASSERT_TRUE(waitForLog("plugin=b: removed"));
    stopAndExpectClean(hostd);
}

TEST_P(ConfigReload, CheckConfigReportsEveryErrorWithFileAndLine) {
    writeConfig(hostSection("stop_timeout = soon") + "[plugin.a]\nrequires = b\nno equals here\n[plugin.b]\nrequires = a\n");
    auto& check = start({"--check-config"});
    EXPECT_EQ(check.waitExit(15s), 78);
    EXPECT_EQ(countLog(configPath() + ":3: stop_timeout = 'soon' is not a duration"), 1) << log();
    EXPECT_EQ(countLog(configPath() + ":6: expected 'key = value'"), 1);
    EXPECT_EQ(countLog("configuration invalid: 2 error(s)"), 1);
    EXPECT_TRUE(events().empty());
}

TEST_P(ConfigReload, CheckConfigFindsCyclesMissingFilesAndShowsWhereValuesCameFrom) {
    writeConfig(hostSection() + probeSection("a", "requires = b") + probeSection("b", "requires = a"));
    auto& cycle = start({"--check-config"});
    EXPECT_EQ(cycle.waitExit(15s), 78);
    EXPECT_EQ(countLog(configPath() + ":6: dependency cycle a -> b -> a"), 1) << log();

    writeConfig(hostSection("stop_timeout = 20s") + probeSection("a", "db_password = hunter2") + probeSection("zz"));
    writeDropin("10-a.conf", "[plugin.a]\ncolor = teal\n");
    auto& ok = start({"--check-config", "-v"});
    EXPECT_EQ(ok.waitExit(15s), 0);
    EXPECT_EQ(countLog("warning: no plugin file " + pluginDir() + "/zz.so for [plugin.zz]"), 1) << log();
    EXPECT_EQ(countLog("configuration OK (1 warning(s))"), 1);
    EXPECT_EQ(countLog("hunter2"), 0);
    EXPECT_EQ(countLog("db_password = <redacted>"), 1);
    EXPECT_EQ(countLog("# " + configPath() + ".d/10-a.conf:2"), 1);
    EXPECT_EQ(countLog("# " + configPath() + ":3"), 1);  // stop_timeout
    EXPECT_GE(countLog("# default"), 5);
}

}  // namespace
}  // namespace hostd::test
