// Files that are not good plugins: each gets one clear error, and the others still run.
#include "Harness.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace hostd::test {
namespace {

class LoadFailure : public HostdTest {
protected:
    /// Runs hostd with `bad` (already installed) next to a good probe "ok"; checks the error
    /// line for `bad` and that "ok" started and stopped.
    void expectRefused(const std::string& bad, const std::string& reason) {
        install("ok");
        writeConfig(hostSection() + probeSection("ok"));
        auto& hostd = start();
        ASSERT_TRUE(waitForLog("hostd: ready running=1 failed=1"));
        EXPECT_EQ(countLog("plugin=" + bad + ": cannot load plugin file=" + pluginDir() + "/" + bad + ".so error=\"" + reason), 1)
            << log();
        hostd.signal(SIGTERM);
        EXPECT_EQ(hostd.waitExit(15s), 0);
        EXPECT_EQ(names(events("stop")), (std::vector<std::string>{"ok"}));
    }
};

TEST_F(LoadFailure, NotAnElfFile) {
    install("bad", "not_elf");
    expectRefused("bad", "not an ELF file\"");
}

TEST_F(LoadFailure, ZeroByteFile) {
    std::ofstream(pluginDir() + "/empty.so").close();
    ::chmod((pluginDir() + "/empty.so").c_str(), 0644);
    expectRefused("empty", "empty file (0 bytes)\"");
}

TEST_F(LoadFailure, TruncatedElfFile) {
    std::ofstream(pluginDir() + "/trunc.so", std::ios::binary) << "\x7f" "ELF\x02\x01\x01";
    ::chmod((pluginDir() + "/trunc.so").c_str(), 0644);
    expectRefused("trunc", "truncated ELF file (7 bytes)\"");
}

TEST_F(LoadFailure, PluginCutShortInsideItsSegmentsIsRefusedNotMapped) {
    // A partial write seen at a quiet moment, or `head -c`: dlopen would map the missing pages,
    // and the first touch of one was a SIGBUS of hostd.
    install("cut");
    std::filesystem::resize_file(pluginDir() + "/cut.so", 12000);  // inside the code segment
    expectRefused("cut", "truncated ELF file (12000 bytes, its headers need ");
}

TEST_F(LoadFailure, PluginMissingOnlyItsTrailingSectionHeadersIsRefused) {
    install("tail");
    auto size = std::filesystem::file_size(pluginDir() + "/tail.so");
    std::filesystem::resize_file(pluginDir() + "/tail.so", size - 64);
    expectRefused("tail", "truncated ELF file (" + std::to_string(size - 64) + " bytes, its headers need " +
                              std::to_string(size) + ")\"");
}

TEST_F(LoadFailure, WrongArchitectureIsNamed) {
    install("arm", "probe");
    // e_machine (offset 18, little-endian) of an aarch64 object: 183.
    std::fstream f(pluginDir() + "/arm.so", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(18);
    f.put(static_cast<char>(183)).put('\0');
    f.close();
    expectRefused("arm", "wrong architecture (ELF machine 183, this host is 62)\"");
}

TEST_F(LoadFailure, MissingEntrySymbol) {
    install("noentry", "no_entry");
    expectRefused("noentry", "no symbol hostd_plugin_entry (not a hostd plugin, or built without HOSTD_EXPORT)\"");
}

TEST_F(LoadFailure, WrongAbiMajorNamesBothVersions) {
    install("future", "wrong_major");
    expectRefused("future", "plugin ABI 2.0 is not supported by this hostd (ABI 1.2): the major version differs");
}

TEST_F(LoadFailure, NewerAbiMinorIsRefused) {
    install("newer", "newer_minor");
    expectRefused("newer", "plugin ABI 1.3 is newer than this hostd (ABI 1.2)");
}

TEST_F(LoadFailure, GroupWritableFileIsRefusedWithItsMode) {
    install("loose");
    ::chmod((pluginDir() + "/loose.so").c_str(), 0664);
    expectRefused("loose", "refused: group- or world-writable (mode 0664)\"");
}

TEST_F(LoadFailure, SymlinkIsRefusedUnlessAllowed) {
    install("real");
    ::chmod((pluginDir() + "/real.so").c_str(), 0644);
    ASSERT_EQ(::rename((pluginDir() + "/real.so").c_str(), path("real.so").c_str()), 0);
    ASSERT_EQ(::symlink(path("real.so").c_str(), (pluginDir() + "/link.so").c_str()), 0);
    expectRefused("link", "refused: is a symbolic link (set allow_symlinks = true in [hostd] to allow)\"");
}

TEST_F(LoadFailure, SymlinkLoadsWhenAllowed) {
    install("ok");
    ASSERT_EQ(::rename((pluginDir() + "/ok.so").c_str(), path("ok.so").c_str()), 0);
    ASSERT_EQ(::symlink(path("ok.so").c_str(), (pluginDir() + "/ok.so").c_str()), 0);
    writeConfig(hostSection("allow_symlinks = true") + probeSection("ok"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1"));
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_F(LoadFailure, InvalidFileNamesAndOtherFilesAreIgnored) {
    install("ok");
    std::ofstream(pluginDir() + "/README").close();
    std::ofstream(pluginDir() + "/bad name.so").close();
    std::ofstream(pluginDir() + "/.hidden.so").close();
    writeConfig(hostSection() + probeSection("ok"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1 failed=0"));
    EXPECT_EQ(countLog("ignoring file: plugin names are [A-Za-z0-9_-]+ path=\"" + pluginDir() + "/bad name.so\""), 1);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_F(LoadFailure, OperatorMayDeleteOrTruncateALoadedFile) {
    install("a");
    writeConfig(hostSection() + probeSection("a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1"));
    // hostd runs a private copy: truncating the operator's file must not SIGBUS it.
    ::truncate((pluginDir() + "/a.so").c_str(), 0);
    ::unlink((pluginDir() + "/a.so").c_str());
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
    EXPECT_EQ(names(events("stop")), (std::vector<std::string>{"a"}));
}

}  // namespace
}  // namespace hostd::test
