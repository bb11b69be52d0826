// What earlier runs left in the state directory is untrusted input: counts and breadcrumbs are
// parsed strictly, bounded in size, never read or written through links.
#include "CrashHistory.h"
#include "TempDir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>
#include <sys/stat.h>

namespace {

namespace fs = std::filesystem;
using hostd::CrashHistory;

const std::string kSha(32, 'a');  // a content hash (ContentHash::finishHex)
const std::string kOtherSha(32, 'b');

class CrashHistoryTest : public ::testing::Test {
protected:
    std::string read(const std::string& name) const {
        std::ifstream in(_tmp.file(name));
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    hostd::test::TempDir _tmp{"hostd-crash"};
};

TEST_F(CrashHistoryTest, CountsSurviveARunAndRestartForNewContent) {
    {
        CrashHistory h(_tmp.path());
        ASSERT_TRUE(h.usable()) << h.why();
        h.countRun("a", kSha);
        h.countRun("a", kSha);
        h.countRun("b", kSha);
    }
    CrashHistory h(_tmp.path());
    EXPECT_EQ(h.crashes("a", kSha), 2);
    EXPECT_EQ(h.crashes("a", kOtherSha), 0);
    h.countRun("a", kOtherSha);
    EXPECT_EQ(h.crashes("a", kOtherSha), 1);
    h.forget("b");
    EXPECT_EQ(read("crash-counts"), "a 1 " + kOtherSha + "\n");
}

TEST_F(CrashHistoryTest, AnUntrustedStateDirectoryIsUnusableAndSaysWhy) {
    ::chmod(_tmp.path().c_str(), 0777);
    CrashHistory h(_tmp.path());
    EXPECT_FALSE(h.usable());
    EXPECT_EQ(h.why(), _tmp.path() + ": group- or world-writable (mode 0777)");
    h.countRun("a", kSha);
    EXPECT_FALSE(fs::exists(_tmp.file("crash-counts")));
}

TEST_F(CrashHistoryTest, CountsThroughALinkOrTooLargeOrMalformedAreIgnored) {
    fs::create_symlink("/dev/zero", _tmp.file("crash-counts"));
    EXPECT_EQ(CrashHistory(_tmp.path()).crashes("a", kSha), 0);
    fs::remove(_tmp.file("crash-counts"));
    _tmp.write("crash-counts", std::string(CrashHistory::kMaxCountsBytes + 1, '\n'));
    EXPECT_EQ(CrashHistory(_tmp.path()).crashes("a", kSha), 0);
    _tmp.write("crash-counts", "a 2 " + kSha + "\n../../etc 5 " + kSha + "\nb -1 " + kSha + "\nc 3 short\nd 4 " + kSha +
                                   " extra\ne 1 " + kSha + "\n");
    CrashHistory h(_tmp.path());
    EXPECT_EQ(h.crashes("a", kSha), 2);
    EXPECT_EQ(h.crashes("e", kSha), 1);
    for (auto name : {"../../etc", "b", "c", "d"}) EXPECT_EQ(h.crashes(name, kSha), 0) << name;
}

TEST_F(CrashHistoryTest, SavingReplacesALinkInsteadOfWritingThroughIt) {
    std::string victim = _tmp.write("victim", "precious\n");
    fs::create_symlink(victim, _tmp.file("crash-counts"));
    fs::create_symlink(victim, _tmp.file(".crash-counts.tmp"));  // the name older versions wrote through
    CrashHistory h(_tmp.path());
    h.countRun("a", kSha);
    EXPECT_EQ(read("victim"), "precious\n");
    EXPECT_EQ(read("crash-counts"), "a 1 " + kSha + "\n");
}

TEST_F(CrashHistoryTest, ABreadcrumbIsTakenOnceAndCounted) {
    _tmp.write("crash.breadcrumb", "a@" + kSha + " SIGSEGV start\n");
    CrashHistory h(_tmp.path());
    auto crumb = h.takeBreadcrumb();
    ASSERT_TRUE(crumb);
    EXPECT_EQ(crumb->plugin, "a");
    EXPECT_EQ(crumb->signal, "SIGSEGV");
    EXPECT_EQ(crumb->callback, "start");
    EXPECT_EQ(h.crashes("a", kSha), 1);
    EXPECT_FALSE(fs::exists(_tmp.file("crash.breadcrumb")));
    EXPECT_FALSE(h.takeBreadcrumb());
}

TEST_F(CrashHistoryTest, ABreadcrumbHostdDidNotWriteIsIgnoredAndLeftInPlace) {
    std::string victim = _tmp.write("victim", "root:x:0:0\n");
    fs::create_symlink(victim, _tmp.file("crash.breadcrumb"));
    CrashHistory h(_tmp.path());
    EXPECT_FALSE(h.takeBreadcrumb());
    EXPECT_TRUE(fs::is_symlink(_tmp.file("crash.breadcrumb")));
    fs::remove(_tmp.file("crash.breadcrumb"));
    _tmp.write("crash.breadcrumb", "evil\nroot 0 " + kSha + "\n");
    EXPECT_FALSE(h.takeBreadcrumb());
    EXPECT_EQ(h.crashes("evil", kSha), 0);
    EXPECT_EQ(h.crashes("root", kSha), 0);
}

TEST(CrashBreadcrumbParse, AcceptsOnlyWhatTheCrashHandlerWrites) {
    std::string sha;
    auto ok = CrashHistory::parseBreadcrumb("a@" + kSha + " SIGABRT load\n", sha);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->plugin, "a");
    EXPECT_EQ(sha, kSha);
    auto anonymous = CrashHistory::parseBreadcrumb("- SIGBUS own-thread\n", sha);
    ASSERT_TRUE(anonymous);
    EXPECT_EQ(anonymous->plugin, "");
    for (const std::string& bad : std::vector<std::string>{"", "a@" + kSha + " SIGSEGV", "a@" + kSha + " SIGKILL start", "a@" + kSha + " SIGSEGV main",
                            "a/b@" + kSha + " SIGSEGV start", "a@xyz SIGSEGV start", "a SIGSEGV start",
                            "a@" + kSha + " SIGSEGV start more"})
        EXPECT_FALSE(CrashHistory::parseBreadcrumb(bad, sha)) << bad;
}

}  // namespace
