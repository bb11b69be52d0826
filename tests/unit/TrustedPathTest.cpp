// The trust rules for paths hostd reads or writes (TrustedPath.h): owners, modes, sticky
// ancestors, symbolic links as the object and among its ancestors, hard links, size caps, and
// files created under a random name and renamed, never written through what was there.
#include "TempDir.h"
#include "TrustedPath.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using hostd::PathRefused;
using hostd::TrustedOwners;
namespace TrustedPath = hostd::TrustedPath;

class TrustedPathTest : public ::testing::Test {
protected:
    std::string dir(const std::string& name, mode_t mode = 0755) const {
        std::string p = _tmp.file(name);
        fs::create_directories(p);
        ::chmod(p.c_str(), mode);
        return p;
    }
    std::string refusal(const std::string& path) const {
        try {
            TrustedPath::openDirectory(path, TrustedOwners::current());
        } catch (const PathRefused& e) {
            return e.what();
        }
        return "";
    }
    std::string readRefusal(const std::string& path, std::size_t max = 4096) const {
        try {
            TrustedPath::readFile(path, TrustedOwners::current(), max);
        } catch (const PathRefused& e) {
            return e.what();
        }
        return "";
    }
    hostd::test::TempDir _tmp{"hostd-trust"};
};

TEST_F(TrustedPathTest, ADirectoryOnlyItsOwnerCanWriteOpens) {
    std::string d = dir("state");
    EXPECT_EQ(refusal(d), "");
    EXPECT_EQ(refusal(d + "/./"), "");  // spelled another way
}

TEST_F(TrustedPathTest, ADirectoryOthersCanWriteIsRefusedEvenWithTheStickyBit) {
    EXPECT_EQ(refusal(dir("open", 0777)), _tmp.file("open") + ": group- or world-writable (mode 0777)");
    EXPECT_EQ(refusal(dir("sticky", 01777)), _tmp.file("sticky") + ": group- or world-writable (mode 1777)");
    EXPECT_EQ(refusal(dir("group", 0775)), _tmp.file("group") + ": group- or world-writable (mode 0775)");
}

TEST_F(TrustedPathTest, AnAncestorOthersCanWriteIsRefusedUnlessSticky) {
    dir("open", 0777);
    EXPECT_EQ(refusal(dir("open/state")), _tmp.file("open") + ": group- or world-writable (mode 0777)");
    dir("sticky", 01777);
    EXPECT_EQ(refusal(dir("sticky/state")), "");  // like /tmp: nobody can rename another's entry
}

TEST_F(TrustedPathTest, TheDirectoryItselfMustNotBeASymbolicLink) {
    std::string real = dir("real");
    fs::create_directory_symlink(real, _tmp.file("link"));
    EXPECT_EQ(refusal(_tmp.file("link")), _tmp.file("link") + ": is a symbolic link");
}

TEST_F(TrustedPathTest, ASymbolicLinkAmongTheAncestorsIsFollowedAndWhereItLeadsIsChecked) {
    dir("real/state");
    fs::create_directory_symlink("real", _tmp.file("alias"));  // relative, like /lib -> usr/lib
    EXPECT_EQ(refusal(_tmp.file("alias/state")), "");
    dir("open", 0777);
    dir("open/state");
    fs::create_directory_symlink(_tmp.file("open"), _tmp.file("toopen"));
    EXPECT_EQ(refusal(_tmp.file("toopen/state")), _tmp.file("open") + ": group- or world-writable (mode 0777)");
}

TEST_F(TrustedPathTest, OwnersOtherThanRootAndTheEffectiveUidAreRefused) {
    if (::geteuid() != 0) GTEST_SKIP() << "chown to another uid needs root";
    std::string d = dir("theirs");
    ASSERT_EQ(::chown(d.c_str(), 65534, 65534), 0);
    EXPECT_EQ(refusal(d), d + ": owned by uid 65534, must be owned by root");
    EXPECT_NO_THROW(TrustedPath::openDirectory(d, TrustedOwners::current().add(65534)));
    std::string link = _tmp.file("theirlink");
    dir("mine/sub");
    fs::create_directory_symlink(_tmp.file("mine"), link);
    ASSERT_EQ(::lchown(link.c_str(), 65534, 65534), 0);
    EXPECT_EQ(refusal(link + "/sub"), link + ": symbolic link owned by uid 65534, must be owned by root");
}

TEST_F(TrustedPathTest, AMissingDirectoryIsASystemErrorNamingIt) {
    try {
        TrustedPath::openDirectory(_tmp.file("none/state"), TrustedOwners::current());
        FAIL() << "opened";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
        EXPECT_NE(std::string(e.what()).find(_tmp.file("none")), std::string::npos) << e.what();
    }
}

TEST_F(TrustedPathTest, FilesAreReadOnlyWhenRegularPrivateSingleLinkedAndSmall) {
    std::string f = _tmp.write("ok.conf", "[hostd]\n");
    EXPECT_EQ(TrustedPath::readFile(f, TrustedOwners::current(), 4096), "[hostd]\n");
    ::chmod(f.c_str(), 0666);
    EXPECT_EQ(readRefusal(f), f + ": group- or world-writable (mode 0666)");
    ::chmod(f.c_str(), 0644);
    fs::create_symlink(f, _tmp.file("link.conf"));
    EXPECT_EQ(readRefusal(_tmp.file("link.conf")), _tmp.file("link.conf") + ": is a symbolic link");
    fs::create_hard_link(f, _tmp.file("hard.conf"));
    EXPECT_EQ(readRefusal(f), f + ": has 2 hard links, must have 1");
    std::string big = _tmp.write("big", std::string(5000, 'x'));
    EXPECT_EQ(readRefusal(big), big + ": larger than 4096 bytes");
    EXPECT_EQ(readRefusal(dir("sub")), _tmp.file("sub") + ": not a regular file");
    fs::create_symlink("/dev/zero", _tmp.file("zero"));
    EXPECT_EQ(readRefusal(_tmp.file("zero")), _tmp.file("zero") + ": is a symbolic link");
}

TEST_F(TrustedPathTest, ReplacingAFileNeverWritesThroughALinkOrTheTemporaryName) {
    std::string victim = _tmp.write("victim", "precious\n");
    std::string d = dir("state");
    fs::create_symlink(victim, d + "/counts");
    auto fd = TrustedPath::openDirectory(d, TrustedOwners::current());
    TrustedPath::replaceFile(fd.get(), "counts", "a 1 x\n", 0640);
    EXPECT_EQ(TrustedPath::readFile(victim, TrustedOwners::current(), 100), "precious\n");
    EXPECT_FALSE(fs::is_symlink(d + "/counts"));
    EXPECT_EQ(TrustedPath::readFile(d + "/counts", TrustedOwners::current(), 100), "a 1 x\n");
    EXPECT_EQ(fs::status(d + "/counts").permissions(), fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
    int entries = 0;
    for ([[maybe_unused]] auto& e : fs::directory_iterator(d)) ++entries;
    EXPECT_EQ(entries, 1);  // no temporary file left behind
}

TEST_F(TrustedPathTest, TemporaryNamesAreHiddenAndUnpredictable) {
    std::string a = TrustedPath::temporaryName("crash-counts"), b = TrustedPath::temporaryName("crash-counts");
    EXPECT_TRUE(a.starts_with(".crash-counts."));
    EXPECT_EQ(a.size(), std::string(".crash-counts.").size() + 16);
    EXPECT_NE(a, b);
}

}  // namespace
