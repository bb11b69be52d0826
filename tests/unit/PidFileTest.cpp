// The locked pidfile: written, refused while held, taken over when stale, removed at the end.
#include "ExitCode.h"
#include "PidFile.h"
#include "StartupError.h"
#include "TempDir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using hostd::PidFile;
using hostd::StartupError;

class PidFileTest : public ::testing::Test {
protected:
    void SetUp() override {
        _path = _dir + "/hostd.pid";
    }

    std::string contents() const {
        std::ifstream in(_path);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

    hostd::test::TempDir _tmp{"hostd-pidfile"};
    std::string _dir = _tmp.path(), _path;
};

TEST_F(PidFileTest, HoldsThePidAndIsRemovedWhenReleased) {
    {
        PidFile pidfile = PidFile::acquire(_path);
        EXPECT_EQ(contents(), std::to_string(::getpid()) + "\n");
        EXPECT_EQ(pidfile.path(), _path);
        PidFile moved = std::move(pidfile);  // the move keeps one owner
        EXPECT_TRUE(fs::exists(_path));
    }
    EXPECT_FALSE(fs::exists(_path));
}

TEST_F(PidFileTest, SecondHolderIsRefusedWithThePidOfTheFirst) {
    PidFile first = PidFile::acquire(_path);
    // flock locks belong to the open file description: a second open in the same process
    // conflicts like another process would.
    try {
        PidFile second = PidFile::acquire(_path);
        FAIL() << "acquired twice";
    } catch (const StartupError& e) {
        EXPECT_EQ(e.exitCode(), hostd::kExitOsError);
        EXPECT_EQ(std::string(e.what()),
                  "hostd already running (pid " + std::to_string(::getpid()) + ", pidfile " + _path + ")");
    }
    EXPECT_TRUE(fs::exists(_path)) << "the refused instance must not remove the holder's file";
}

TEST_F(PidFileTest, StaleFileIsTakenOver) {
    std::ofstream(_path) << "999999999\n";
    PidFile pidfile = PidFile::acquire(_path);
    EXPECT_EQ(contents(), std::to_string(::getpid()) + "\n");
}

TEST_F(PidFileTest, FileReplacedByAnotherIsNotRemoved) {
    std::optional<PidFile> pidfile = PidFile::acquire(_path);
    fs::remove(_path);
    std::ofstream(_path) << "42\n";
    pidfile.reset();
    EXPECT_EQ(contents(), "42\n");
}

TEST_F(PidFileTest, SymbolicLinkIsRefused) {
    fs::create_symlink(_dir + "/elsewhere", _path);
    EXPECT_THROW(PidFile::acquire(_path), StartupError);
    EXPECT_FALSE(fs::exists(_dir + "/elsewhere"));
}

TEST_F(PidFileTest, AFileThatHoldsMoreThanAPidIsNeitherTruncatedNorChmoddedNorRemoved) {
    std::ofstream(_path) << "root:x:0:0:root:/root:/bin/bash\n";
    ::chmod(_path.c_str(), 0600);
    try {
        PidFile::acquire(_path);
        FAIL() << "acquired";
    } catch (const StartupError& e) {
        EXPECT_EQ(e.exitCode(), hostd::kExitConfig);
        EXPECT_EQ(std::string(e.what()), "pidfile " + _path +
                                             ": refused: exists and holds something other than a pid; hostd never "
                                             "overwrites a file it did not create");
    }
    EXPECT_EQ(contents(), "root:x:0:0:root:/root:/bin/bash\n");
    EXPECT_EQ(fs::status(_path).permissions(), fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(PidFileTest, AFileOfAnotherUserOrInADirectoryOthersCanWriteIsRefused) {
    if (::geteuid() != 0) GTEST_SKIP() << "chown needs root";
    std::ofstream(_path) << "1\n";
    ASSERT_EQ(::chown(_path.c_str(), 65534, 65534), 0);
    EXPECT_THROW(PidFile::acquire(_path), StartupError);
    EXPECT_EQ(contents(), "1\n");
    fs::remove(_path);
    ::chmod(_dir.c_str(), 01777);
    try {
        PidFile::acquire(_path);
        FAIL() << "acquired";
    } catch (const StartupError& e) {
        EXPECT_EQ(std::string(e.what()), "pidfile " + _path + ": refused: " + _dir + ": group- or world-writable (mode 1777)");
    }
    ::chmod(_dir.c_str(), 0755);
}

TEST_F(PidFileTest, ANewFileIsReadableByAllWhateverTheUmask) {
    mode_t old = ::umask(077);
    {
        PidFile pidfile = PidFile::acquire(_path);
        EXPECT_EQ(fs::status(_path).permissions(),
                  fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
    }
    ::umask(old);
}

TEST_F(PidFileTest, MissingDirectoryIsASystemError) {
    try {
        PidFile::acquire(_dir + "/no/such/dir/hostd.pid");
        FAIL();
    } catch (const StartupError& e) {
        EXPECT_EQ(e.exitCode(), hostd::kExitOsError);
        EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos) << e.what();
    }
}

}  // namespace
