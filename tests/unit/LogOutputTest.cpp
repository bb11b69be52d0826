// Where log lines go: log_format/log_target in the configuration, the journal's stream
// detection, a file target and its reopen, and redaction of secret values in config errors.
#include "Config.h"
#include "ConfigTestSupport.h"
#include "LogOutput.h"
#include "LogSetup.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using namespace hostd::test;
using hostd::LogDestination;
using hostd::LogFormat;
using hostd::LogOutput;
using ::testing::HasSubstr;
using ::testing::Not;

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// A temp dir; the log output is back on stderr afterwards.
class LogOutputTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/hostd-logout.XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        _dir = tmpl;
    }
    void TearDown() override {
        LogOutput::open({});
        ::unsetenv("JOURNAL_STREAM");
        fs::remove_all(_dir);
    }
    std::string path(const std::string& name) const { return _dir + "/" + name; }

    std::string _dir;
};

TEST_F(LogOutputTest, FileTargetIsCreatedWithMode0640AndAppendedTo) {
    std::ofstream(path("hostd.log")) << "existing line\n";
    ::chmod(path("hostd.log").c_str(), 0600);
    LogOutput::open({LogFormat::Text, path("hostd.log")});
    HOSTD_LOG(Notice, "", "into the file", {"n", "1"});
    EXPECT_THAT(slurp(path("hostd.log")), ::testing::StartsWith("existing line\n"));
    EXPECT_THAT(slurp(path("hostd.log")), HasSubstr("notice hostd: into the file n=1 src="));

    LogOutput::open({LogFormat::Text, path("new.log")});
    struct stat st {};
    ASSERT_EQ(::stat(path("new.log").c_str(), &st), 0);
    mode_t umask = ::umask(022);
    ::umask(umask);
    EXPECT_EQ(st.st_mode & 0777, 0640u & ~umask);
}

TEST_F(LogOutputTest, ReopenAfterARenameSplitsTheLinesBetweenTheTwoFiles) {
    LogOutput::open({LogFormat::Json, path("hostd.log")});
    HOSTD_LOG(Info, "", "before");
    fs::rename(path("hostd.log"), path("hostd.log.1"));
    HOSTD_LOG(Info, "", "still to the renamed file");
    LogOutput::reopen();
    HOSTD_LOG(Info, "", "after");
    std::string old = slurp(path("hostd.log.1")), now = slurp(path("hostd.log"));
    EXPECT_THAT(old, HasSubstr("\"message\":\"before\""));
    EXPECT_THAT(old, HasSubstr("\"message\":\"still to the renamed file\""));
    EXPECT_THAT(old, Not(HasSubstr("\"after\"")));
    EXPECT_THAT(now, HasSubstr("\"message\":\"after\""));
    EXPECT_THAT(now, Not(HasSubstr("before")));
}

TEST_F(LogOutputTest, AFileThatCannotBeOpenedIsAnErrorNamingItAndTheOldOutputStays) {
    LogOutput::open({LogFormat::Text, path("hostd.log")});
    try {
        LogOutput::open({LogFormat::Json, path("missing/dir/x.log")});
        FAIL() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("cannot open log file " + path("missing/dir/x.log")));
        EXPECT_THAT(e.what(), HasSubstr("No such file or directory"));
    }
    EXPECT_EQ(LogOutput::current(), (LogDestination{LogFormat::Text, path("hostd.log")}));
    HOSTD_LOG(Info, "", "kept");
    EXPECT_THAT(slurp(path("hostd.log")), HasSubstr("hostd: kept"));
}

TEST_F(LogOutputTest, ASymlinkADirectoryAFifoOrAHardLinkIsRefused) {
    fs::create_symlink(path("elsewhere.log"), path("link.log"));
    EXPECT_THROW(LogOutput::open({LogFormat::Text, path("link.log")}), hostd::PathRefused);
    EXPECT_FALSE(fs::exists(path("elsewhere.log")));
    fs::create_directory(path("dir.log"));
    EXPECT_THROW(LogOutput::open({LogFormat::Text, path("dir.log")}), std::system_error);  // EISDIR
    ASSERT_EQ(::mkfifo(path("fifo.log").c_str(), 0600), 0);  // nobody reads it: an open for writing would block
    EXPECT_THROW(LogOutput::open({LogFormat::Text, path("fifo.log")}), std::system_error);  // ENXIO, at once
    std::ofstream(path("shadow")) << "secret\n";
    fs::create_hard_link(path("shadow"), path("hard.log"));
    EXPECT_THROW(LogOutput::open({LogFormat::Text, path("hard.log")}), hostd::PathRefused);
    EXPECT_EQ(slurp(path("shadow")), "secret\n");
}

TEST_F(LogOutputTest, ALogDirectoryOthersCanWriteIsRefusedNamingIt) {
    fs::create_directory(path("open"));
    ::chmod(path("open").c_str(), 01777);
    try {
        LogOutput::open({LogFormat::Text, path("open/hostd.log")});
        FAIL() << "opened";
    } catch (const hostd::PathRefused& e) {
        EXPECT_EQ(std::string(e.what()), path("open") + ": group- or world-writable (mode 1777) (the directory of log file " +
                                             path("open/hostd.log") + ")");
    }
    EXPECT_FALSE(fs::exists(path("open/hostd.log")));
}

TEST_F(LogOutputTest, ReopenFailureKeepsWritingToTheOldFile) {
    fs::create_directory(path("logs"));
    LogOutput::open({LogFormat::Text, path("logs/hostd.log")});
    fs::rename(path("logs"), path("gone"));
    EXPECT_THROW(LogOutput::reopen(), std::system_error);
    HOSTD_LOG(Info, "", "after the failed reopen");
    EXPECT_THAT(slurp(path("gone/hostd.log")), HasSubstr("after the failed reopen"));
}

TEST_F(LogOutputTest, JournalStreamMatchingStderrMakesAutoJournal) {
    hostd::HostSettings host;  // log_format = auto, log_target = stderr
    ::unsetenv("JOURNAL_STREAM");  // the test runner may itself run under systemd
    struct stat st {};
    ASSERT_EQ(::fstat(STDERR_FILENO, &st), 0);
    EXPECT_EQ(hostd::logDestination(host).format, LogFormat::Text);
    std::string stream = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    ::setenv("JOURNAL_STREAM", stream.c_str(), 1);
    EXPECT_TRUE(hostd::stderrIsJournal());
    EXPECT_EQ(hostd::logDestination(host).format, LogFormat::Journal);
    host.logFormat = "json";
    EXPECT_EQ(hostd::logDestination(host).format, LogFormat::Json);
    host.logFormat = "auto";
    host.logTarget = "/var/log/hostd.log";  // the journal's format is for stderr only
    EXPECT_EQ(hostd::logDestination(host).format, LogFormat::Text);
    std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
    ::setenv("JOURNAL_STREAM", other.c_str(), 1);  // inherited, but stderr was redirected
    EXPECT_FALSE(hostd::stderrIsJournal());
    ::setenv("JOURNAL_STREAM", "garbage", 1);
    EXPECT_FALSE(hostd::stderrIsJournal());
}

TEST(LogConfig, FormatAndTargetAreParsedAndDescribed) {
    auto load = parseOne("[hostd]\nlog_format = json\nlog_target = /var/log/hostd.log\n");
    const auto& c = requireOk(load);
    EXPECT_EQ(c.host.logFormat, "json");
    EXPECT_EQ(c.host.logTarget, "/var/log/hostd.log");
    auto described = hostd::describe(c.host);
    EXPECT_THAT(described, ::testing::Contains(std::pair<std::string, std::string>{"log_format", "json"}));
    EXPECT_THAT(described, ::testing::Contains(std::pair<std::string, std::string>{"log_target", "/var/log/hostd.log"}));
    auto defaults = parseOne("[hostd]\n");
    const auto& d = requireOk(defaults);
    EXPECT_EQ(d.host.logFormat, "auto");
    EXPECT_EQ(d.host.logTarget, "stderr");
    auto syslog = parseOne("[hostd]\nlog_target = syslog\nlog_format = journal\n");
    EXPECT_EQ(requireOk(syslog).host.logTarget, "syslog");
}

TEST(LogConfig, BadFormatOrTargetIsAnErrorWithFileAndLine) {
    EXPECT_THAT(strs(parseOne("[hostd]\nlog_format = xml\nlog_target = hostd.log\nlog_target = /var/log/\n").issues),
                ::testing::ElementsAre("main.conf:2: log_format = 'xml' is not one of auto, text, json, journal",
                                       "main.conf:3: log_target = 'hostd.log' is not stderr, syslog or an absolute file path",
                                       "main.conf:4: duplicate key 'log_target' in [hostd] (first set at line 3)"));
    EXPECT_THAT(strs(parseOne("[hostd]\nlog_target = /var/log/\n").issues),
                ::testing::ElementsAre("main.conf:2: log_target = '/var/log/' is not stderr, syslog or an absolute file path"));
}

TEST(LogConfig, ErrorsAboutASecretKeyNeverShowItsValue) {
    // With "dir" a redact word, plugin_dir is secret; its invalid value is quoted in the error.
    auto load = parseOne("[hostd]\nredact_keys = password, dir\nplugin_dir = relative/S3CRET\n"
                         "[plugin.a]\nstop_timeout = 5s\napi_password = hunter2\n");
    EXPECT_THAT(strs(load.issues), ::testing::ElementsAre("main.conf:3: plugin_dir = '<redacted>' must be an absolute path"));
    auto plugin = parseOne("[hostd]\nredact_keys = timeout\n[plugin.a]\nstop_timeout = S3CRET\n");
    ASSERT_EQ(plugin.issues.size(), 1u);
    EXPECT_THAT(plugin.issues[0].str(), Not(HasSubstr("S3CRET")));
    EXPECT_THAT(plugin.issues[0].str(), HasSubstr("stop_timeout = '<redacted>' is not a duration"));
}

}  // namespace
