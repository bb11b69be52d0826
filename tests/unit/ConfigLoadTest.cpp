// loadConfig: reading the main file and its drop-in directory from disk.
#include "Config.h"
#include "ConfigTestSupport.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

using namespace hostd::test;
namespace fs = std::filesystem;

class LoadConfig : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "hostd-config-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir = pattern;
        mainFile = (dir / "hostd.conf").string();
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }

    void write(const fs::path& path, const std::string& text) {
        fs::create_directories(path.parent_path());
        std::ofstream out(path, std::ios::binary);
        out << text;
        ASSERT_TRUE(out.good()) << path;
    }
    fs::path dropin(const std::string& name) const { return fs::path(mainFile + ".d") / name; }

    fs::path dir;
    std::string mainFile;
};

TEST_F(LoadConfig, AMissingRequiredFileIsAnErrorNamingTheFile) {
    ConfigLoad load = loadConfig(mainFile, true);
    EXPECT_EQ(load.config, nullptr);
    EXPECT_THAT(strs(load.issues), ElementsAre(mainFile + ": configuration file not found"));
}

TEST_F(LoadConfig, AMissingOptionalFileGivesTheDefaults) {
    ConfigLoad load = loadConfig(mainFile, false);
    const ConfigSnapshot& c = requireOk(load);
    EXPECT_EQ(c.host.stopTimeout, 30s);
    EXPECT_EQ(c.host.pluginDir, "/usr/lib/hostd");
    EXPECT_THAT(c.files, IsEmpty());
}

// Fails against Config.cpp as written: readFile() opens a directory without error and reads
// nothing, so a directory given as the (required) configuration file silently yields the
// built-in defaults instead of an error naming it.
TEST_F(LoadConfig, AMainFileThatIsADirectoryIsAnError) {
    fs::create_directories(mainFile);
    ConfigLoad load = loadConfig(mainFile, true);
    EXPECT_EQ(load.config, nullptr);
    ASSERT_FALSE(load.issues.empty());
    EXPECT_EQ(load.issues[0].origin.file, mainFile);
    EXPECT_EQ(load.issues[0].origin.line, 0);
}

TEST_F(LoadConfig, ReadsTheMainFile) {
    write(mainFile, "[hostd]\nstop_timeout = 12s\n[plugin.web]\nport = 80\n");
    ConfigLoad load = loadConfig(mainFile, true);
    const ConfigSnapshot& c = requireOk(load);
    EXPECT_EQ(c.host.stopTimeout, 12s);
    EXPECT_EQ(c.hostOrigins.at("stop_timeout").str(), mainFile + ":2");
    EXPECT_NE(c.plugin("web"), nullptr);
    EXPECT_THAT(c.files, ElementsAre(mainFile));
}

TEST_F(LoadConfig, ReadsDropInsInLexicalOrderIgnoringOtherAndHiddenFiles) {
    write(mainFile, "[hostd]\nstop_timeout = 1s\nplugin_stop_timeout = 1s\n");
    // Lexical, not numeric: "10-a" sorts before "9-z", so 9-z is read last and wins.
    write(dropin("9-z.conf"), "[hostd]\nstop_timeout = 9s\n");
    write(dropin("10-a.conf"), "[hostd]\nstop_timeout = 10s\nlog_level = debug\n");
    write(dropin("2-m.conf"), "[plugin.m]\n");
    write(dropin("01-first.conf"), "[plugin.first]\n");
    write(dropin("Upper.conf"), "[plugin.upper]\n");  // byte order: 'U' < 'l'
    write(dropin("lower.conf"), "[plugin.lower]\n");
    write(dropin("99-ignored.txt"), "[hostd]\nstop_timeout = 99s\n");
    write(dropin("99-ignored.conf.bak"), "[hostd]\nstop_timeout = 98s\n");
    write(dropin(".99-hidden.conf"), "[hostd]\nstop_timeout = 97s\n");
    write(dropin("README"), "not a config file at all\n");
    ConfigLoad load = loadConfig(mainFile, true);
    const ConfigSnapshot& c = requireOk(load);
    EXPECT_EQ(c.host.stopTimeout, 9s);  // the last drop-in to set it
    EXPECT_EQ(c.host.pluginStopTimeout, 1s);
    EXPECT_EQ(c.host.logLevel, "debug");
    EXPECT_EQ(c.hostOrigins.at("stop_timeout").str(), dropin("9-z.conf").string() + ":2");
    EXPECT_EQ(c.hostOrigins.at("log_level").str(), dropin("10-a.conf").string() + ":3");
    EXPECT_THAT(c.files, ElementsAre(mainFile, dropin("01-first.conf").string(), dropin("10-a.conf").string(),
                                     dropin("2-m.conf").string(), dropin("9-z.conf").string(),
                                     dropin("Upper.conf").string(), dropin("lower.conf").string()));
    EXPECT_EQ(c.plugins.size(), 4u);
}

TEST_F(LoadConfig, DropInsApplyEvenWhenAnOptionalMainFileIsMissing) {
    write(dropin("local.conf"), "[plugin.web]\nport = 81\n");
    ConfigLoad load = loadConfig(mainFile, false);
    const ConfigSnapshot& c = requireOk(load);
    const PluginSection* web = c.plugin("web");
    ASSERT_NE(web, nullptr);
    EXPECT_THAT(keyValues(web->settings), ElementsAre(std::pair<std::string, std::string>{"port", "81"}));
    EXPECT_THAT(c.files, ElementsAre(dropin("local.conf").string()));
}

TEST_F(LoadConfig, ErrorsInADropInNameTheDropInAndItsLine) {
    write(mainFile, "[hostd]\n");
    write(dropin("20-bad.conf"), "# bad\n[hostd]\nallow_symlinks = sometimes\n");
    ConfigLoad load = loadConfig(mainFile, true);
    EXPECT_EQ(load.config, nullptr);
    EXPECT_THAT(strs(load.issues),
                ElementsAre(dropin("20-bad.conf").string() + ":3: allow_symlinks = 'sometimes' is not a boolean (true or false)"));
}

TEST_F(LoadConfig, AMissingRequiredFileIsReportedBeforeDropInErrors) {
    write(dropin("a.conf"), "oops\n");
    ConfigLoad load = loadConfig(mainFile, true);
    EXPECT_EQ(load.config, nullptr);
    EXPECT_THAT(strs(load.issues),
                ElementsAre(mainFile + ": configuration file not found",
                            dropin("a.conf").string() + ":1: expected 'key = value', '[section]' or a comment, got 'oops'"));
}

}  // namespace
