// The log as the real daemon writes it: text, JSON (every line parsed by a JSON parser) and
// journal lines on stderr; per-plugin log_level; secret values in no line, whatever happens.
#include "LogTestSupport.h"

#include <csignal>
#include <fstream>
#include <map>
#include <regex>
#include <sys/stat.h>

namespace hostd::test {
namespace {

class Logging : public HostdTest {
protected:
    /// Starts hostd with probes a and b logging `lines` lines each, waits until it is ready,
    /// reloads, then drains it (so every line is in the log) and expects a clean exit.
    void runThroughLifecycle(const std::string& hostExtra, const std::vector<std::string>& env = {}) {
        for (auto n : {"a", "b"}) install(n);
        writeConfig(hostSection(hostExtra) + probeSection("a", "log_lines = 5") + probeSection("b", "log_lines = 5"));
        auto& hostd = start({}, env);
        ASSERT_TRUE(waitForLog("ready"));
        hostd.signal(SIGHUP);
        ASSERT_TRUE(waitForLog("configuration reloaded"));
        hostd.signal(SIGTERM);
        ASSERT_EQ(hostd.waitExit(30s), 0) << log();
    }
};

TEST_F(Logging, TextLinesHaveTimeLevelSubjectMessageFieldsAndSource) {
    runThroughLifecycle("");
    const std::regex line(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (error|warning|notice|info|debug) )"
                          R"((hostd|plugin=[a-z]+): [^\n]+)");
    auto all = splitLines(log());
    ASSERT_GT(all.size(), 10u);
    for (const auto& l : all) EXPECT_TRUE(std::regex_match(l, line)) << l;
    const std::regex started(R"(.* info plugin=a: started file=\S+/a\.so version=1\.0\.0 duration_ms=\d+\.\d{3} )"
                             R"(src=Scheduler\.cpp:\d+)");
    EXPECT_EQ(std::count_if(all.begin(), all.end(), [&](auto& l) { return std::regex_match(l, started); }), 1) << log();
    for (auto n : {"a", "b"})
        for (int i = 1; i <= 5; ++i)
            EXPECT_EQ(countLog(std::string(" info plugin=") + n + ": line " + std::to_string(i) + " from=plugin\n"), 1);
}

TEST_F(Logging, JsonLinesAreEachOneValidObjectWithTheDocumentedMembers) {
    runThroughLifecycle("log_format = json");
    auto all = splitLines(log());
    ASSERT_GT(all.size(), 10u);
    const std::regex time(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)");
    std::map<std::string, int> pluginLines;
    int hostLinesAboutA = 0;
    for (const auto& l : all) {
        auto o = parseJsonLine(l);
        if (!o) continue;
        EXPECT_TRUE(std::regex_match(o->getValue<std::string>("time"), time)) << l;
        EXPECT_TRUE(o->has("level") && o->has("message")) << l;
        if (o->has("from")) {  // a plugin's own line: its name, no host source
            EXPECT_EQ(o->getValue<std::string>("from"), "plugin") << l;
            EXPECT_FALSE(o->has("source")) << l;
            pluginLines[o->getValue<std::string>("plugin") + " " + o->getValue<std::string>("message")]++;
        } else {
            EXPECT_TRUE(std::regex_match(o->getValue<std::string>("source"), std::regex(R"([A-Za-z]+\.cpp:\d+)"))) << l;
            if (o->has("plugin") && o->getValue<std::string>("plugin") == "a") ++hostLinesAboutA;
        }
        for (const auto& name : o->getNames()) EXPECT_TRUE(o->get(name).isString()) << name << " in " << l;
    }
    for (auto n : {"a", "b"})
        for (int i = 1; i <= 5; ++i) EXPECT_EQ((pluginLines[std::string(n) + " line " + std::to_string(i)]), 1) << n << i;
    EXPECT_GE(hostLinesAboutA, 3) << "loaded, started, stopped: host lines about a plugin name it";
    EXPECT_EQ(countLog("\"message\":\"drained\""), 1);
}

TEST_F(Logging, UnderJournaldStderrLinesArePrefixedWithTheirPriority) {
    // JOURNAL_STREAM names the device and inode of the stream systemd connected to stderr: here
    // the harness's log file.
    std::ofstream(path("hostd.log")).flush();
    struct stat st {};
    ASSERT_EQ(::stat(path("hostd.log").c_str(), &st), 0);
    runThroughLifecycle("", {"JOURNAL_STREAM=" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)});
    const std::map<std::string, std::string> priority{
        {"error", "3"}, {"warning", "4"}, {"notice", "5"}, {"info", "6"}, {"debug", "7"}};
    const std::regex line(R"(<([0-7])>(error|warning|notice|info|debug) (hostd|plugin=[a-z]+): .+)");
    auto all = splitLines(log());
    ASSERT_GT(all.size(), 10u);
    for (const auto& l : all) {
        std::smatch m;
        ASSERT_TRUE(std::regex_match(l, m, line)) << l;
        EXPECT_EQ(m[1].str(), priority.at(m[2].str())) << l;
    }
    EXPECT_EQ(countLog("<5>notice hostd: ready "), 1) << log();
}

TEST_F(Logging, AnInheritedJournalStreamThatIsNotStderrKeepsText) {
    runThroughLifecycle("", {"JOURNAL_STREAM=1:1"});
    EXPECT_EQ(countLog("<"), 0) << log();
    EXPECT_TRUE(std::regex_search(log(), std::regex(R"(Z notice hostd: ready )"))) << log();
}

TEST_F(Logging, PerPluginLogLevelFiltersThePluginsOwnLinesOnly) {
    for (auto n : {"verbose", "plain", "quiet", "loud"}) install(n);
    writeConfig(hostSection() +
                probeSection("verbose", "log_level = debug\nlog_lines = 3\nlog_level_line = debug") +
                probeSection("plain", "log_lines = 3\nlog_level_line = debug") +  // the host's info
                probeSection("quiet", "log_level = error\nlog_lines = 3\nlog_level_line = warning") +
                probeSection("loud", "log_level = error\nlog_lines = 3\nlog_level_line = error"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=4"));
    hostd.signal(SIGTERM);
    ASSERT_EQ(hostd.waitExit(30s), 0) << log();
    for (int i = 1; i <= 3; ++i) {
        std::string line = ": line " + std::to_string(i) + " from=plugin";
        EXPECT_EQ(countLog("debug plugin=verbose" + line), 1) << log();
        EXPECT_EQ(countLog("plugin=plain" + line), 0) << log();
        EXPECT_EQ(countLog("plugin=quiet" + line), 0) << log();
        EXPECT_EQ(countLog("error plugin=loud" + line), 1) << log();
    }
    // The host's own lines about a filtered plugin follow the host's level.
    EXPECT_EQ(countLog("info plugin=quiet: started "), 1) << log();
    EXPECT_EQ(countLog("plugin=quiet: probe start done"), 0) << log();
}

TEST_F(Logging, SigusrOneWithoutALogFileIsHarmless) {
    install("a");
    writeConfig(hostSection() + probeSection("a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("ready"));
    hostd.signal(SIGUSR1);
    ASSERT_TRUE(waitForLog("hostd: SIGUSR1: no log file to reopen target=stderr"));
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(30s), 0) << log();
}

/// Secret values in the configuration, in text and JSON logs, through a start, a reload that
/// changes them, and a reload that fails on a secret value (quoted by its error message).
class Redaction : public HostdTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(Redaction, SecretValuesAppearInNoLogLine) {
    install("a");
    std::string host = hostSection(std::string("log_level = debug\nlog_format = ") + GetParam() +
                                   "\nredact_keys = password, token, timeout");
    writeConfig(host + probeSection("a", "api_password = S3CRET-one\nauth.token = S3CRET-two"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("ready"));
    writeConfig(host + probeSection("a", "api_password = S3CRET-three\nauth.token = S3CRET-two"));
    hostd.signal(SIGHUP);
    ASSERT_TRUE(waitForLog("reloaded"));
    writeConfig(host + probeSection("a", "api_password = S3CRET-three\nstop_timeout = S3CRET-four"));
    hostd.signal(SIGHUP);
    ASSERT_TRUE(waitForLog("configuration reload failed"));
    hostd.signal(SIGTERM);
    ASSERT_EQ(hostd.waitExit(30s), 0) << log();
    EXPECT_EQ(countLog("S3CRET"), 0) << log();
    EXPECT_GE(countLog("stop_timeout = '<redacted>' is not a duration"), 1) << log();
}

INSTANTIATE_TEST_SUITE_P(Formats, Redaction, ::testing::Values("text", "json"));

}  // namespace
}  // namespace hostd::test
