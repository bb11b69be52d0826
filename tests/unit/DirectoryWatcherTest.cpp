#include "DirectoryWatcher.h"

#include "TempDir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using hostd::DirectoryWatcher;
using Kind = DirectoryWatcher::Change::Kind;

bool readable(int fd, int timeoutMs) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, timeoutMs) == 1 && (p.revents & POLLIN) != 0;
}

std::vector<Kind> kinds(const std::vector<DirectoryWatcher::Change>& changes) {
    std::vector<Kind> out;
    for (const auto& c : changes) out.push_back(c.kind);
    return out;
}

class Watcher : public ::testing::Test {
protected:
    hostd::test::TempDir parent{"hostd-watcher-test"};
    std::string dir = parent.file("watched");
};

TEST_F(Watcher, WhileMissingIgnoresTheParentWhileTheDirectoryExists) {
    fs::create_directory(dir);
    DirectoryWatcher w(dir, DirectoryWatcher::ParentWatch::WhileMissing);
    ASSERT_TRUE(w.watching());
    parent.write("unrelated", "x");  // next to the directory, as a compiler's temporary in /tmp
    fs::remove(parent.file("unrelated"));
    EXPECT_FALSE(readable(w.fd(), 50)) << "an entry next to the directory woke the watcher";
    std::ofstream(dir + "/a.conf") << "x";
    ASSERT_TRUE(readable(w.fd(), 5000));
    auto changes = w.read();
    ASSERT_FALSE(changes.empty());
    EXPECT_EQ(changes.back().kind, Kind::FileReady);
    EXPECT_EQ(changes.back().name, "a.conf");
}

TEST_F(Watcher, WhileMissingSeesTheDirectoryGoAndComeBack) {
    fs::create_directory(dir);
    DirectoryWatcher w(dir, DirectoryWatcher::ParentWatch::WhileMissing);
    fs::remove(dir);
    ASSERT_TRUE(readable(w.fd(), 5000));
    EXPECT_EQ(kinds(w.read()), (std::vector<Kind>{Kind::DirGone}));
    EXPECT_FALSE(w.watching());
    fs::create_directory(dir);
    ASSERT_TRUE(readable(w.fd(), 5000));
    EXPECT_EQ(kinds(w.read()), (std::vector<Kind>{Kind::Rescan}));
    EXPECT_TRUE(w.watching());
    parent.write("unrelated", "x");
    EXPECT_FALSE(readable(w.fd(), 50)) << "the parent is still watched after the directory came back";
}

TEST_F(Watcher, WhileMissingSeesADirectoryMadeAfterTheWatcher) {
    DirectoryWatcher w(dir, DirectoryWatcher::ParentWatch::WhileMissing);
    EXPECT_FALSE(w.watching());
    fs::create_directory(dir);
    ASSERT_TRUE(readable(w.fd(), 5000));
    EXPECT_EQ(kinds(w.read()), (std::vector<Kind>{Kind::Rescan}));
    EXPECT_TRUE(w.watching());
}

TEST_F(Watcher, AlwaysSeesTheRemovalOfADirectoryHeldOpen) {
    fs::create_directory(dir);
    DirectoryWatcher w(dir, DirectoryWatcher::ParentWatch::Always);
    int held = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);  // as PluginDirectory holds it
    ASSERT_GE(held, 0);
    fs::remove(dir);
    ASSERT_TRUE(readable(w.fd(), 5000));
    auto k = kinds(w.read());
    ASSERT_FALSE(k.empty());
    EXPECT_EQ(k.front(), Kind::DirGone);
    ::close(held);
}


TEST_F(Watcher, WhatIsMadeWithoutBeingWrittenIsReadyAsItAppearsAFileBeingWrittenOnlyOnceClosed) {
    fs::create_directory(dir);
    DirectoryWatcher w(dir);
    int fd = ::open((dir + "/partial.so").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(readable(w.fd(), 5000));
    EXPECT_TRUE(w.read().empty()) << "a file still being written was reported ready";
    ::close(fd);
    ASSERT_TRUE(readable(w.fd(), 5000));
    EXPECT_EQ(kinds(w.read()), (std::vector<Kind>{Kind::FileReady}));

    ASSERT_EQ(::mkfifo((dir + "/fifo.so").c_str(), 0644), 0);
    ASSERT_TRUE(readable(w.fd(), 5000));
    auto changes = w.read();
    ASSERT_EQ(kinds(changes), (std::vector<Kind>{Kind::FileReady}));
    EXPECT_EQ(changes[0].name, "fifo.so");
}

}  // namespace
