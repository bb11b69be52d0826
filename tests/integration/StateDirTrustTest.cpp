// The state directory under a local attacker (issue: security of a root-run hostd, row 1): the
// crash counts and the breadcrumb are never written through a link, never read from a file
// hostd did not write, and a directory others can write to is not used at all.
#include "TrustSupport.h"

#include <csignal>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace hostd::test {
namespace {

class StateDirTrust : public Attacked {
protected:
    std::string config(const std::string& stateDir, const std::string& probeA = "") const {
        return hostSection("state_dir = " + stateDir) + probeSection("a", probeA) + probeSection("c");
    }
    void SetUp() override {
        Attacked::SetUp();
        if (IsSkipped()) return;
        install("a");
        install("c");
    }
};

TEST_F(StateDirTrust, AStateDirOthersCanWriteIsNotUsedAndNothingIsWrittenThroughWhatTheyPlant) {
    std::string state = directory("state", 0777);
    auto planted = attacker("ln -s " + victim() + " " + state + "/crash.breadcrumb && ln -s " + victim() + " " + state +
                            "/.crash-counts.tmp && ln -s /dev/zero " + state + "/crash-counts");
    ASSERT_EQ(planted.exitCode, 0) << planted.output;
    writeConfig(config(state, "crash = start"));
    auto& hostd = start();
    EXPECT_EQ(hostd.waitExit(30s), 128 + SIGSEGV);
    EXPECT_EQ(countLog("state directory unusable; crash attribution and crash quarantine are off state_dir=" + state +
                       " reason=\"" + state + ": group- or world-writable (mode 0777)\""),
              1)
        << log();
    EXPECT_TRUE(victimIntact());
    EXPECT_TRUE(fs::is_symlink(state + "/crash.breadcrumb"));  // not even replaced: the directory is not used
}

TEST_F(StateDirTrust, AStateDirOwnedByAnotherUserIsNotUsed) {
    std::string state = directory("state", 0755);
    ASSERT_EQ(::chown(state.c_str(), kAttacker, kAttacker), 0);
    ASSERT_EQ(attacker("ln -s " + victim() + " " + state + "/crash.breadcrumb").exitCode, 0);
    writeConfig(config(state, "crash = start"));
    auto& hostd = start();
    EXPECT_EQ(hostd.waitExit(30s), 128 + SIGSEGV);
    EXPECT_EQ(countLog(state + ": owned by uid 65534, must be owned by root"), 1) << log();
    EXPECT_TRUE(victimIntact());
}

TEST_F(StateDirTrust, LinksLeftInATrustedStateDirAreReplacedNotWrittenThrough) {
    // As a state directory others could write to once may hold: links to a root file and to a
    // device that never ends. The crash handler's breadcrumb replaces the link.
    std::string state = directory("state", 0755);
    fs::create_symlink(victim(), state + "/crash.breadcrumb");
    fs::create_symlink("/dev/zero", state + "/crash-counts");
    writeConfig(config(state, "crash = start"));
    auto& first = start();
    EXPECT_EQ(first.waitExit(30s), 128 + SIGSEGV);
    EXPECT_EQ(countLog("crash counts refused; counting from zero error=\"" + state + "/crash-counts: is a symbolic link\""), 1)
        << log();
    EXPECT_EQ(countLog("crash breadcrumb refused; left in place"), 1);
    EXPECT_TRUE(victimIntact());
    EXPECT_FALSE(fs::is_symlink(state + "/crash.breadcrumb"));
    writeConfig(config(state));
    auto& second = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=2"));
    EXPECT_EQ(countLog("plugin=a: previous run crashed in plugin a (SIGSEGV in start)"), 1) << log();
    second.signal(SIGTERM);
    EXPECT_EQ(second.waitExit(15s), 0);
    EXPECT_TRUE(victimIntact());
    EXPECT_FALSE(fs::is_symlink(state + "/crash-counts"));
}

TEST_F(StateDirTrust, ABreadcrumbHostdDidNotWriteIsIgnored) {
    std::string state = directory("state", 0755);
    std::ofstream(state + "/crash.breadcrumb") << "evil\nroot 9 " << std::string(64, 'a') << "\n";
    writeConfig(config(state));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=2"));
    EXPECT_EQ(countLog("crash breadcrumb ignored: not one hostd writes; left in place"), 1) << log();
    EXPECT_EQ(countLog("previous run crashed"), 0);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

}  // namespace
}  // namespace hostd::test
