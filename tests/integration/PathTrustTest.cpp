// The trust rules on every path hostd reads or writes as root (issue: security of a root-run
// hostd, rows 2, 7 and 8), each attack made by another uid with setpriv: it fails, hostd (or
// --check-config, before anything starts) says why, and what it aimed at is unchanged.
#include "TrustSupport.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>

namespace fs = std::filesystem;

namespace hostd::test {
namespace {

class PathTrust : public Attacked {
protected:
    CommandResult checkConfig() const {
        return runCommand({HOSTD_BINARY_PATH, "--check-config", "--config=" + configPath()});
    }
    std::string dropins() const { return configPath() + ".d"; }
};

TEST_F(PathTrust, ADropinOthersCanWriteIsRefusedByTheCheckAndAtStart) {
    install("a");
    writeConfig(hostSection() + probeSection("a"));
    std::string evil = dropins() + "/50-local.conf";
    std::ofstream(evil) << "";
    ::chmod(evil.c_str(), 0666);  // an operator's mistake the attacker finds
    ASSERT_EQ(attacker("printf '[hostd]\\npidfile = " + victim() + "\\nlog_target = " + victim() + "\\n' > " + evil).exitCode, 0);
    auto check = checkConfig();
    EXPECT_EQ(check.exitCode, 78) << check.output;
    EXPECT_NE(check.output.find(evil + ": refused: group- or world-writable (mode 0666)"), std::string::npos) << check.output;
    EXPECT_EQ(start().waitExit(30s), 78);
    EXPECT_EQ(countLog(evil + ": refused: group- or world-writable (mode 0666)"), 1) << log();
    EXPECT_TRUE(victimIntact());
}

TEST_F(PathTrust, ADropinDirectoryOthersCanWriteIsRefusedEvenWithTheStickyBit) {
    install("a");
    writeConfig(hostSection() + probeSection("a"));
    ::chmod(dropins().c_str(), 01777);
    ASSERT_EQ(attacker("printf '[hostd]\\npidfile = " + victim() + "\\n' > " + dropins() + "/99-evil.conf").exitCode, 0);
    auto check = checkConfig();
    EXPECT_EQ(check.exitCode, 78) << check.output;
    EXPECT_NE(check.output.find(dropins() + ": refused: group- or world-writable (mode 1777)"), std::string::npos)
        << check.output;
    EXPECT_EQ(start().waitExit(30s), 78);
    EXPECT_TRUE(victimIntact());
}

TEST_F(PathTrust, AConfigurationFileOfAnotherUserIsRefused) {
    writeConfig(hostSection());
    ASSERT_EQ(::chown(configPath().c_str(), kAttacker, kAttacker), 0);
    auto check = checkConfig();
    EXPECT_EQ(check.exitCode, 78) << check.output;
    EXPECT_NE(check.output.find(configPath() + ": refused: owned by uid 65534, must be owned by root"), std::string::npos)
        << check.output;
}

TEST_F(PathTrust, APidfileNamingAFileHostdDidNotCreateLeavesItAlone) {
    // Even from a trusted configuration (a typo): hostd never truncates, chmods or removes it.
    writeConfig(hostSection("pidfile = " + victim()));
    auto check = checkConfig();
    EXPECT_EQ(check.exitCode, 78) << check.output;
    EXPECT_NE(check.output.find("pidfile: refused: " + victim() + ": exists and holds something other than a pid"),
              std::string::npos)
        << check.output;
    EXPECT_EQ(start().waitExit(30s), 78);
    EXPECT_EQ(countLog("pidfile " + victim() + ": refused: exists and holds something other than a pid"), 1) << log();
    EXPECT_TRUE(victimIntact());
}

TEST_F(PathTrust, APidfileInADirectoryOthersCanWriteIsRefusedAndTheirFileIsNotAdopted) {
    std::string run = directory("run", 01777);
    std::string pidfile = run + "/hostd.pid";
    ASSERT_EQ(attacker("echo 1 > " + pidfile).exitCode, 0);
    writeConfig(hostSection("pidfile = " + pidfile));
    EXPECT_NE(checkConfig().output.find("pidfile: refused: " + run + ": group- or world-writable (mode 1777)"),
              std::string::npos);
    EXPECT_EQ(start().waitExit(30s), 78);
    EXPECT_EQ(countLog("pidfile " + pidfile + ": refused: " + run + ": group- or world-writable (mode 1777)"), 1) << log();
    struct stat st {};
    ASSERT_EQ(::stat(pidfile.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, kAttacker);
    EXPECT_EQ(readFile(pidfile), "1\n");
}

TEST_F(PathTrust, APluginDirectoryUnderAParentOthersCanWriteIsRefusedSoTheirSwapLoadsNothing) {
    std::string parent = directory("shared", 0777);
    std::string plugins = directory("shared/plugins", 0755);
    std::string elsewhere = directory("elsewhere", 0755);
    copyPlugin(std::string(HOSTD_FIXTURE_DIR) + "/probe.so", elsewhere, "b");
    writeConfig(hostSection() + probeSection("b"));
    auto& hostd = start({"--plugin-dir=" + plugins});
    ASSERT_TRUE(waitForLog("plugin directory refused; no plugin is loaded from it path=" + plugins + " reason=\"" + parent +
                           ": group- or world-writable (mode 0777)\""))
        << log();
    ASSERT_EQ(attacker("mv " + plugins + " " + parent + "/gone && ln -s " + elsewhere + " " + plugins).exitCode, 0);
    hostd.signal(SIGUSR2);  // a rescan, as after an inotify overflow
    ASSERT_TRUE(waitForLog("plugin directory refused", 15s, 2));
    EXPECT_TRUE(events("start").empty());
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_F(PathTrust, APluginDirectoryUnderAStickyParentCannotBeSwappedByAnotherUser) {
    std::string parent = directory("sticky", 01777);
    std::string plugins = directory("sticky/plugins", 0755);
    copyPlugin(std::string(HOSTD_FIXTURE_DIR) + "/probe.so", plugins, "a");
    writeConfig(hostSection() + probeSection("a"));
    auto& hostd = start({"--plugin-dir=" + plugins});
    ASSERT_TRUE(waitForLog("hostd: ready running=1")) << log();
    EXPECT_NE(attacker("mv " + plugins + " " + parent + "/gone").exitCode, 0);  // the sticky bit protects root's entry
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_F(PathTrust, APluginDirectoryThatIsASymbolicLinkIsRefused) {
    std::string real = directory("real", 0755);
    fs::create_directory_symlink(real, path("linked"));
    writeConfig(hostSection());
    auto& hostd = start({"--plugin-dir=" + path("linked")});
    ASSERT_TRUE(waitForLog("plugin directory refused; no plugin is loaded from it path=" + path("linked") +
                           " reason=\"is a symbolic link\""))
        << log();
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_F(PathTrust, CheckConfigRedactsSecretsHoweverTheirKeysAreSpelled) {
    writeConfig(hostSection() + "[plugin.a]\napiKey = k-123\nclientSecret = s-456\ndb_passwd = p-789\ncredential = c-0\n"
                                "keyboard = us\n");
    auto check = runCommand({HOSTD_BINARY_PATH, "--check-config", "-v", "--config=" + configPath()});
    EXPECT_EQ(check.exitCode, 0) << check.output;
    for (auto secret : {"k-123", "s-456", "p-789", "c-0"}) EXPECT_EQ(check.output.find(secret), std::string::npos) << secret;
    EXPECT_NE(check.output.find("apiKey = <redacted>"), std::string::npos) << check.output;
    EXPECT_NE(check.output.find("keyboard = us"), std::string::npos);
}

TEST_F(PathTrust, CapabilitiesWithoutUserSayThatRootIsKept) {
    writeConfig(hostSection("capabilities = cap_net_bind_service"));
    auto check = checkConfig();
    EXPECT_EQ(check.exitCode, 0) << check.output;
    EXPECT_NE(check.output.find(configPath() + ":3: warning: capabilities without user: started as root, hostd keeps uid 0"),
              std::string::npos)
        << check.output;
}

}  // namespace
}  // namespace hostd::test
