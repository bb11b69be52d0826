// The plugin directory at runtime: every way operators install, upgrade and remove plugins
// ends with exactly the file's final content loaded and started, once.
#include "Harness.h"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace hostd::test {
namespace {

using Names = std::vector<std::string>;

class HotDirBase : public HostdTest {
protected:
    std::string fixture(const std::string& name) const { return std::string(HOSTD_FIXTURE_DIR) + "/" + name + ".so"; }
    std::string target(const std::string& name) const { return pluginDir() + "/" + name + ".so"; }

    /// cp: truncates and writes the target in place (IN_CLOSE_WRITE on the same inode).
    void copyInPlace(const std::string& fixtureName, const std::string& name) const {
        fs::copy_file(fixture(fixtureName), target(name), fs::copy_options::overwrite_existing);
        ::chmod(target(name).c_str(), 0644);
    }

    /// Writes a temporary name in the directory, then renames it to NAME.so (IN_MOVED_TO).
    void renameIn(const std::string& fixtureName, const std::string& name, const std::string& tmpName) const {
        std::string tmp = pluginDir() + "/" + tmpName;
        fs::copy_file(fixture(fixtureName), tmp, fs::copy_options::overwrite_existing);
        ::chmod(tmp.c_str(), 0644);
        fs::rename(tmp, target(name));
    }

    int count(const std::string& kind, const std::string& name) const {
        auto ev = events(kind);
        return static_cast<int>(std::count_if(ev.begin(), ev.end(), [&](auto& e) { return e.name == name; }));
    }

    HostdProcess& startEmpty(const std::string& extraConfig = "") {
        writeConfig(hostSection() + extraConfig);
        auto& hostd = start();
        EXPECT_TRUE(waitForLog("hostd: ready"));
        return hostd;
    }

    /// Sections for every probe name used here, so they all record events.
    std::string probes(const Names& names, const std::string& extra = "") const {
        std::string out;
        for (const auto& n : names) out += probeSection(n, extra);
        return out;
    }

    void stopAndExpectClean(HostdProcess& hostd) {
        hostd.signal(SIGTERM);
        EXPECT_EQ(hostd.waitExit(30s), 0);
    }
};

/// Installs and upgrades, in both isolations.
class HotDir : public HotDirBase, public ::testing::WithParamInterface<std::string> {
protected:
    void SetUp() override {
        _isolation = GetParam();
        HotDirBase::SetUp();
    }
};
HOSTD_IN_BOTH_ISOLATIONS(HotDir);

/// In hostd's process only: what only the dynamic loader of hostd's process can do (unique
/// symbols keep an image mapped), or what would spawn a thousand runners.
class HotDirInProcess : public HotDirBase {};

TEST_P(HotDir, CpIntoTheDirectoryLoadsAndStartsOnce) {
    auto& hostd = startEmpty(probes({"a"}));
    copyInPlace("probe", "a");
    ASSERT_TRUE(waitForLog("plugin=a: started"));
    ::chmod(target("a").c_str(), 0640);  // IN_ATTRIB: another look, same content
    ::chmod(target("a").c_str(), 0644);
    hostd.signal(SIGHUP);                // a later, ordered event to wait for
    ASSERT_TRUE(waitForLog("hostd: configuration reloaded"));
    EXPECT_EQ(count("start", "a"), 1);
    stopAndExpectClean(hostd);
}

TEST_P(HotDir, InstallCommandLoadsAndStartsOnce) {
    auto& hostd = startEmpty(probes({"a"}));
    std::string cmd = "install -m 644 " + fixture("probe") + " " + target("a");
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    ASSERT_TRUE(waitForLog("plugin=a: started"));
    EXPECT_EQ(count("start", "a"), 1);
    stopAndExpectClean(hostd);
}

TEST_P(HotDir, WhatIsMadeInPlaceWithoutBeingWrittenGetsItsOneLookNow) {
    // No IN_CLOSE_WRITE follows these: each is looked at as it appears, refused or loaded.
    auto& hostd = startEmpty(probes({"h"}));
    ASSERT_EQ(::mkfifo(target("fifo").c_str(), 0644), 0);
    ASSERT_EQ(::mkdir(target("dir").c_str(), 0755), 0);
    ASSERT_EQ(::symlink(fixture("probe").c_str(), target("link").c_str()), 0);
    fs::copy_file(fixture("probe"), path("elsewhere.so"));
    ::chmod(path("elsewhere.so").c_str(), 0644);
    ASSERT_EQ(::link(path("elsewhere.so").c_str(), target("h").c_str()), 0);  // ln: a second name, not a write
    ASSERT_TRUE(waitForLog("plugin=fifo: cannot load plugin")) << log();
    ASSERT_TRUE(waitForLog("plugin=dir: cannot load plugin")) << log();
    ASSERT_TRUE(waitForLog("plugin=link: cannot load plugin")) << log();
    ASSERT_TRUE(waitForLog("plugin=h: started")) << log();
    EXPECT_EQ(countLog("error=\"refused: not a regular file but a FIFO\""), 1) << log();
    EXPECT_EQ(countLog("error=\"refused: not a regular file but a directory\""), 1);
    EXPECT_EQ(countLog("error=\"refused: is a symbolic link"), 1);
    EXPECT_EQ(count("start", "h"), 1);
    stopAndExpectClean(hostd);
}

TEST_P(HotDir, DpkgAndRsyncStyleRenamesLoadOnlyTheFinalName) {
    auto& hostd = startEmpty(probes({"a", "b"}));
    renameIn("probe", "a", "a.so.dpkg-new");
    renameIn("probe", "b", ".b.so.Xy12Z9");
    ASSERT_TRUE(waitForLog("plugin=b: started"));
    ASSERT_TRUE(waitForLog("plugin=a: started"));
    EXPECT_EQ(count("start", "a"), 1);
    EXPECT_EQ(count("start", "b"), 1);
    EXPECT_EQ(countLog("dpkg-new"), 0);
    EXPECT_EQ(countLog("Xy12Z9"), 0);
    stopAndExpectClean(hostd);
}

TEST_P(HotDir, RemovingAPluginStopsItsDependentsFirstAndLeavesThemPending) {
    for (auto n : {"a", "b", "c"}) install(n);
    writeConfig(hostSection() + probeSection("a") + probeSection("b", "requires = a") + probeSection("c", "requires = b"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=3"));
    ASSERT_EQ(::unlink(target("a").c_str()), 0);
    ASSERT_TRUE(waitForLog("plugin=a: removed"));
    EXPECT_EQ(names(events("stop")), (Names{"c", "b", "a"}));
    ASSERT_TRUE(waitForLog("plugin=b: pending reason=\"waiting for a (not installed)\""));
    ASSERT_TRUE(waitForLog("plugin=c: pending reason=\"waiting for b (pending)\""));
    // And back: the dependency arrives, everything starts again in order.
    install("a");
    ASSERT_TRUE(waitForEvents([](auto& ev) { return ev.size() == 9; }));
    EXPECT_EQ(names(events("start")), (Names{"a", "b", "c", "a", "b", "c"}));
    stopAndExpectClean(hostd);
}

TEST_P(HotDir, PendingDependencyStartsTheWaitingPluginWhenItArrives) {
    install("b");
    writeConfig(hostSection() + probeSection("a") + probeSection("b", "requires = a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("plugin=b: pending reason=\"waiting for a (not installed)\""));
    renameIn("probe", "a", ".a.so.tmp");
    ASSERT_TRUE(waitForEvents([](auto& ev) { return ev.size() == 2; }));
    EXPECT_EQ(names(events("start")), (Names{"a", "b"}));
    stopAndExpectClean(hostd);
}

TEST_P(HotDir, UpgradeStopsDependentsAndTheOldVersionThenStartsTheNewOne) {
    for (auto n : {"a", "b"}) install(n);
    writeConfig(hostSection() + probeSection("a") + probeSection("b", "requires = a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=2"));
    renameIn("probe_v2", "a", ".a.so.new");
    ASSERT_TRUE(waitForLog("plugin=a: upgraded"));
    ASSERT_TRUE(waitForEvents([](auto& ev) { return ev.size() == 6; }));
    auto ev = events();
    std::vector<std::string> order;
    for (auto& e : ev) order.push_back(e.kind + " " + e.name);
    EXPECT_EQ(order, (Names{"start a", "start b", "stop b", "stop a", "start a", "start b"}));
    EXPECT_EQ(countLog("plugin=a: started file=" + target("a") + " version=2.0.0"), 1);
    stopAndExpectClean(hostd);
}

TEST_P(HotDir, AFileRemovedAndPutBackWhileItsPluginStopsStartsAgain) {
    // The same content back during the stop its removal began: not "nothing to do", or the
    // install would be lost when the removal forgets the plugin.
    writeConfig(hostSection() + probes({"a"}, "stop_delay_ms = 300"));
    renameIn("probe", "a", ".a.tmp");
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1")) << log();
    fs::remove(target("a"));
    ASSERT_TRUE(waitForEvents([&](auto&) { return count("stop", "a") == 1; })) << log();
    renameIn("probe", "a", ".a.tmp");
    ASSERT_TRUE(waitForEvents([&](auto&) { return count("start", "a") == 2; })) << log();
    EXPECT_EQ(countLog("plugin=a: file back with the same content while the plugin stops; it starts again"), 1) << log();
    stopAndExpectClean(hostd);
}

TEST_P(HotDir, IdenticalContentIsANoOp) {
    install("a");
    writeConfig(hostSection() + probeSection("a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1"));
    copyInPlace("probe", "a");
    renameIn("probe", "a", ".a.so.same");
    hostd.signal(SIGHUP);
    ASSERT_TRUE(waitForLog("hostd: configuration reloaded"));
    EXPECT_EQ(names(events()), (Names{"a"}));
    stopAndExpectClean(hostd);
}

TEST_P(HotDir, BadNewImageLeavesTheOldVersionRunningUntouched) {
    install("a");
    writeConfig(hostSection() + probeSection("a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1"));
    renameIn("not_elf", "a", ".a.so.bad");
    ASSERT_TRUE(waitForLog("plugin=a: new file refused; the running version stays file=" + target("a") +
                           " error=\"not an ELF file\""));
    EXPECT_TRUE(events("stop").empty());
    stopAndExpectClean(hostd);
    EXPECT_EQ(names(events("stop")), (Names{"a"}));
}

TEST_P(HotDir, UpgradeWhoseStartFailsRollsBackToTheOldImage) {
    for (auto n : {"a", "b"}) install(n);
    writeConfig(hostSection() + probeSection("a") + probeSection("b", "requires = a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=2"));
    renameIn("probe_badstart", "a", ".a.so.new");
    ASSERT_TRUE(waitForLog("plugin=a: upgrade failed: the new image did not start; rolling back to the previous image"));
    ASSERT_TRUE(waitForLog("plugin=b: started", 15s, 2));
    EXPECT_EQ(countLog("plugin=a: started file=" + target("a") + " version=1.0.0"), 2);
    // The same bad content again is not retried.
    renameIn("probe_badstart", "a", ".a.so.again");
    hostd.signal(SIGHUP);
    ASSERT_TRUE(waitForLog("hostd: configuration reloaded"));
    EXPECT_EQ(countLog("upgrade failed"), 1);
    stopAndExpectClean(hostd);
}

TEST_P(HotDir, InPlaceOverwriteOfARunningPluginTwentyTimesNeverCrashes) {
    install("a");
    writeConfig(hostSection() + probeSection("a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1"));
    for (int i = 0; i < 20; ++i) copyInPlace(i % 2 == 0 ? "probe_v2" : "probe", "a");
    // The last write was the 1.0.0 build: that is what must end up running.
    ASSERT_TRUE(waitUntil(
        [&] {
            std::string text = log();
            auto last = text.rfind("plugin=a: started file=");
            return last != std::string::npos && text.find("version=1.0.0", last) != std::string::npos &&
                   text.find("\n", last) > text.find("version=1.0.0", last) && count("start", "a") == count("stop", "a") + 1;
        },
        30s));
    EXPECT_TRUE(hostd.running());
    stopAndExpectClean(hostd);
}

TEST_P(HotDir, TruncatingARunningPluginsFileTwentyTimesNeverCrashes) {
    // The running image is hostd's private copy of what is mapped: the file cut to nothing, to
    // part of its loadable bytes or to part of its debug info changes nothing that runs (a
    // chmod makes hostd look at the file's trust again, not read it), and the next complete
    // write is what loads.
    install("a");
    writeConfig(hostSection() + probeSection("a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1"));
    auto size = static_cast<off_t>(fs::file_size(target("a")));
    for (int i = 0; i < 20; ++i) {
        ASSERT_EQ(::truncate(target("a").c_str(), i % 3 == 0 ? 0 : size * (i % 3) / 3), 0);
        ::chmod(target("a").c_str(), i % 2 == 0 ? 0640 : 0644);  // an attribute change: hostd looks again
        ASSERT_TRUE(hostd.running()) << log();
    }
    copyInPlace(fs::path(fixture("probe_v2")).stem().string(), "a");
    ASSERT_TRUE(waitForLog("plugin=a: upgraded")) << log();
    EXPECT_EQ(count("start", "a"), 2);
    stopAndExpectClean(hostd);
}

TEST_F(HotDirInProcess, PluginWithUniqueSymbolsIsNeverSilentlyUpgraded) {
    writeConfig(hostSection() + probeSection("u"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready"));
    renameIn("unique_v1", "u", ".u.tmp");
    ASSERT_TRUE(waitForLog("plugin=u: started"));
    renameIn("unique_v2", "u", ".u.tmp");
    ASSERT_TRUE(waitForLog("plugin=u: old image is still mapped after unload; hot upgrades of this plugin are refused"));
    EXPECT_GE(countLog("likely_cause=\"STB_GNU_UNIQUE symbols\" unique_symbols=") , 1);
    EXPECT_GE(countLog("_ZZ13uniqueCountervE7counter"), 1);
    renameIn("unique_v1", "u", ".u.tmp");
    ASSERT_TRUE(waitForLog("plugin=u: restart hostd to upgrade u"));
    stopAndExpectClean(hostd);
}

TEST_P(HotDir, TrustRulesAreCheckedAtRuntimeAndAFixedFileIsRetried) {
    auto& hostd = startEmpty(probes({"a"}));
    std::string tmp = pluginDir() + "/.a.tmp";
    fs::copy_file(fixture("probe"), tmp);
    ::chmod(tmp.c_str(), 0666);
    fs::rename(tmp, target("a"));
    ASSERT_TRUE(waitForLog("plugin=a: cannot load plugin file=" + target("a") +
                           " error=\"refused: group- or world-writable (mode 0666)\""));
    ::chmod(target("a").c_str(), 0644);
    ASSERT_TRUE(waitForLog("plugin=a: started"));
    stopAndExpectClean(hostd);
}

TEST_P(HotDir, AChmodLandingWhileAnUpgradeIsReadStillBringsTheUpgrade) {
    // cp then chmod 644: reading 8 MB takes long enough for the chmod to land meanwhile, so the
    // read sees the file change (its ctime) and gives up; the chmod's event is the last one the
    // file gets, and it must bring the look that loads it (it was lost: no upgrade, ever).
    install("a", "tiny");
    writeConfig(hostSection() + probeSection("a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1"));
    copyInPlace("big", "a");
    ASSERT_TRUE(waitForLog("plugin=a: upgraded")) << log();
    EXPECT_EQ(countLog("plugin=a: new version loaded file=" + target("a") + " version="), 1);
    EXPECT_EQ(countLog("size=" + std::to_string(fs::file_size(fixture("big")))), 1) << log();
    stopAndExpectClean(hostd);
}

TEST_P(HotDir, AChmodOfARunningPluginsFileReadsNothing) {
    // It runs from its private copy; a configuration tool resetting modes, or a writer that sets
    // the mode before its bytes (copy_file), must not make hostd read (half a) file again.
    install("a");
    writeConfig(hostSection() + probeSection("a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1"));
    ::chmod(target("a").c_str(), 0666);  // refused, if it were read
    hostd.signal(SIGHUP);                // a later, ordered event to wait for
    ASSERT_TRUE(waitForLog("hostd: configuration reloaded"));
    EXPECT_EQ(countLog("new file refused"), 0) << log();
    EXPECT_EQ(count("start", "a"), 1);
    stopAndExpectClean(hostd);
}

TEST_P(HotDir, AChmodThatMakesARunningPluginsFileUntrustedIsReportedAtOnce) {
    // Not at the next upgrade, which would be refused: the operator hears of it when it happens.
    install("a");
    writeConfig(hostSection() + probeSection("a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1"));
    ::chmod(target("a").c_str(), 0664);
    ASSERT_TRUE(waitForLog("plugin=a: file fails the trust checks; the running version stays, a new version would be "
                           "refused file=" + target("a") + " error=\"refused: group- or world-writable (mode 0664)\""));
    ::chmod(target("a").c_str(), 0644);
    ASSERT_TRUE(waitForLog("plugin=a: file passes the trust checks again file=" + target("a")));
    ::chmod(target("a").c_str(), 0640);  // still trusted: nothing to say
    ::chmod(target("a").c_str(), 0666);
    ASSERT_TRUE(waitForLog("error=\"refused: group- or world-writable (mode 0666)\""));
    install("a");  // fixed by a reinstall of the same content (mode 0644): read, unchanged, and said
    ASSERT_TRUE(waitForLog("plugin=a: file passes the trust checks again", 15s, 2));
    hostd.signal(SIGHUP);  // a later, ordered event to wait for
    ASSERT_TRUE(waitForLog("hostd: configuration reloaded"));
    EXPECT_EQ(countLog("trust checks"), 4) << log();
    EXPECT_EQ(countLog("new file refused"), 0) << log();
    EXPECT_EQ(count("start", "a"), 1);
    EXPECT_EQ(count("stop", "a"), 0);
    stopAndExpectClean(hostd);
}

TEST_P(HotDir, ARefusedUpgradeIsRetriedWhenItsModeIsFixed) {
    install("a");
    writeConfig(hostSection() + probeSection("a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1"));
    std::string tmp = pluginDir() + "/.a.tmp";
    fs::copy_file(fixture("probe_v2"), tmp);
    ::chmod(tmp.c_str(), 0666);
    fs::rename(tmp, target("a"));
    ASSERT_TRUE(waitForLog("plugin=a: new file refused; the running version stays file=" + target("a") +
                           " error=\"refused: group- or world-writable (mode 0666)\""));
    ::chmod(target("a").c_str(), 0644);
    ASSERT_TRUE(waitForLog("plugin=a: upgraded"));
    EXPECT_EQ(countLog("to_version=2.0.0"), 1) << log();
    stopAndExpectClean(hostd);
}

TEST_P(HotDir, PinnedSha256MismatchIsRefusedWithBothHashes) {
    std::string pin(64, 'a');
    auto& hostd = startEmpty(probes({"a"}, "sha256 = " + pin));
    copyInPlace("probe", "a");
    ASSERT_TRUE(waitForLog("does not match the pinned sha256 " + pin));
    EXPECT_TRUE(events().empty());
    stopAndExpectClean(hostd);
}

TEST_P(HotDir, PluginDirectoryCreatedLaterOrRecreatedIsPickedUp) {
    fs::remove(pluginDir());
    writeConfig(hostSection() + probeSection("a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("waiting for it to appear"));
    ASSERT_EQ(::mkdir(pluginDir().c_str(), 0755), 0);
    install("a");
    ASSERT_TRUE(waitForLog("plugin=a: started"));
    fs::remove_all(pluginDir());
    ASSERT_TRUE(waitForLog("plugin=a: removed"));
    ASSERT_EQ(::mkdir(pluginDir().c_str(), 0755), 0);
    install("a");
    ASSERT_TRUE(waitForLog("plugin=a: started", 15s, 2));
    stopAndExpectClean(hostd);
    EXPECT_EQ(names(events()), (Names{"a", "a", "a", "a"}));
}

TEST_F(HotDirInProcess, BurstOfAThousandFilesIsAllLoaded) {
    constexpr int kFiles = 1000;
    std::string config = hostSection("log_level = notice");
    for (int i = 0; i < kFiles; ++i) config += "[plugin.t" + std::to_string(i) + "]\nevents = " + eventsPath() + "\n";
    writeConfig(config);
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready"));
    for (int i = 0; i < kFiles; ++i) renameIn("tiny", "t" + std::to_string(i), ".t.tmp");
    ASSERT_TRUE(waitForEvents([](auto& ev) { return ev.size() >= kFiles; }, 120s)) << events().size();
    hostd.signal(SIGTERM);
    ASSERT_EQ(hostd.waitExit(60s), 0);
    EXPECT_EQ(events("start").size(), static_cast<std::size_t>(kFiles));
    EXPECT_EQ(events("stop").size(), static_cast<std::size_t>(kFiles));
}

}  // namespace
}  // namespace hostd::test

namespace hostd::test {
namespace {

TEST_P(HotDir, RescanReconcilesWhatInotifyCannotSeeWithoutDoubleStarts) {
    install("a");
    writeConfig(hostSection() + probes({"a", "b", "c"}));
    install("c");
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=2"));
    // A hard link is a complete file the moment it appears, but inotify reports it only as
    // IN_CREATE, which also marks the start of every cp: only a rescan can pick it up.
    fs::copy_file(fixture("probe"), path("b.so"));
    ::chmod(path("b.so").c_str(), 0644);
    ASSERT_EQ(::link(path("b.so").c_str(), target("b").c_str()), 0);
    hostd.signal(SIGUSR2);
    ASSERT_TRUE(waitForLog("plugin=b: started"));
    hostd.signal(SIGUSR2);
    ASSERT_TRUE(waitForLog("hostd: rescanning the plugin directory", 15s, 2));
    hostd.signal(SIGHUP);
    ASSERT_TRUE(waitForLog("hostd: configuration reloaded"));
    EXPECT_EQ(count("start", "a"), 1);
    EXPECT_EQ(count("start", "b"), 1);
    EXPECT_EQ(count("start", "c"), 1);
    stopAndExpectClean(hostd);
}

}  // namespace
}  // namespace hostd::test
