// Command line and startup configuration: usage errors, config errors, help, version.
#include "Harness.h"

#include <csignal>

namespace hostd::test {
namespace {

class CommandLine : public HostdTest {};

TEST_F(CommandLine, UnknownOptionIsAUsageError) {
    writeConfig(hostSection());
    auto& hostd = start({"--no-such-option"});
    EXPECT_EQ(hostd.waitExit(15s), 64);
}

TEST_F(CommandLine, PositionalArgumentIsAUsageError) {
    writeConfig(hostSection());
    auto& hostd = start({"extra"});
    EXPECT_EQ(hostd.waitExit(15s), 64);
    EXPECT_EQ(countLog("hostd: unexpected argument 'extra' (see --help)"), 1);
}

TEST_F(CommandLine, HelpAndVersionExitZero) {
    auto& help = start({"--help"});
    EXPECT_EQ(help.waitExit(15s), 0);
    EXPECT_GE(countLog("--plugin-dir"), 1);
    auto& version = start({"--version"});
    EXPECT_EQ(version.waitExit(15s), 0);
    EXPECT_EQ(countLog("(plugin ABI 1.2)"), 1);
}

TEST_F(CommandLine, MissingExplicitConfigFileIsAConfigError) {
    auto& hostd = start({"--config=" + path("nope.conf")});
    EXPECT_EQ(hostd.waitExit(15s), 78);
    EXPECT_EQ(countLog(path("nope.conf") + ": configuration file not found"), 1);
}

TEST_F(CommandLine, InvalidConfigExitsWithEveryErrorAndStartsNothing) {
    install("a");
    writeConfig(hostSection("stop_timeout = soon\nbogus = 1") + probeSection("a") + "[nonsense]\n");
    auto& hostd = start();
    EXPECT_EQ(hostd.waitExit(15s), 78);
    EXPECT_EQ(countLog(configPath() + ":3: stop_timeout = 'soon' is not a duration"), 1) << log();
    EXPECT_EQ(countLog(configPath() + ":4: unknown key 'bogus' in [hostd]"), 1);
    EXPECT_EQ(countLog(configPath() + ":8: unknown section [nonsense]"), 1);
    EXPECT_TRUE(events().empty());
}

TEST_F(CommandLine, PluginDirOptionOverridesTheConfig) {
    install("a");
    writeConfig("[hostd]\nplugin_dir = /nonexistent\n" + probeSection("a"));
    auto& hostd = start({"--plugin-dir=" + pluginDir()});
    ASSERT_TRUE(waitForLog("hostd: ready running=1"));
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_F(CommandLine, MissingPluginDirIsAWarningNotAFailure) {
    writeConfig("[hostd]\nplugin_dir = " + path("absent") + "\n");
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=0"));
    EXPECT_EQ(countLog("plugin directory cannot be opened; waiting for it to appear path=" + path("absent")), 1);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

}  // namespace
}  // namespace hostd::test
