// log_target = FILE: logrotate's rename + SIGUSR1 loses and duplicates nothing, even with
// plugins logging through the rotation and the drain; a file that cannot be opened stops the
// start (exit 78); --daemon writes there; a reload switches format and target.
#include "DaemonSupport.h"
#include "LogTestSupport.h"

#include <csignal>
#include <filesystem>
#include <map>
#include <regex>
#include <sys/stat.h>

namespace hostd::test {
namespace {

namespace fs = std::filesystem;

class LogFile : public HostdTest {
protected:
    void TearDown() override {
        _reaper.killAll();
        if (HasFailure())
            for (auto name : {"file.log", "file.log.1"}) std::cerr << "---- " << name << " ----\n" << readFile(path(name));
        HostdTest::TearDown();
    }

    std::string file() const { return path("file.log"); }

    DaemonReaper _reaper;
};

TEST_F(LogFile, TenThousandPluginLinesAcrossARotationAndShutdownArePresentExactlyOnce) {
    constexpr int kPlugins = 4, kLines = 2500;
    std::string config = hostSection("log_target = " + file());
    for (int p = 0; p < kPlugins; ++p) {
        std::string name = "p" + std::to_string(p);
        install(name);
        // Spread over about a second, so that the rotation and the drain happen while they log.
        config += probeSection(name, "log_lines = " + std::to_string(kLines) + "\nlog_line_interval_us = 400");
    }
    writeConfig(config);
    auto& hostd = start();
    ASSERT_TRUE(waitForText(file(), "plugin=p0: line 100 "));
    fs::rename(file(), path("file.log.1"));  // what logrotate does, then its postrotate:
    hostd.signal(SIGUSR1);
    ASSERT_TRUE(waitForText(file(), "hostd: log file reopened path=" + file()));
    hostd.signal(SIGTERM);
    ASSERT_EQ(hostd.waitExit(60s), 0);

    std::string before = readFile(path("file.log.1")), after = readFile(file());
    EXPECT_EQ(log(), "") << "nothing on stderr with a log file";
    EXPECT_EQ(countIn(after, "hostd: log file reopened"), 1);
    EXPECT_EQ(countIn(before, "hostd: log file reopened"), 0);
    EXPECT_EQ(countIn(after, "hostd: drained "), 1);
    std::map<std::pair<std::string, int>, int> seen;
    int afterRotation = 0;
    const std::regex pluginLine(R"(\S+Z info plugin=(p\d): line (\d+) from=plugin)");
    const std::regex anyLine(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z [a-z]+ (hostd|plugin=p\d): .+)");
    for (const auto* text : {&before, &after}) {
        ASSERT_TRUE(text->empty() || text->back() == '\n') << "a line was cut";
        for (const auto& l : splitLines(*text)) {
            EXPECT_TRUE(std::regex_match(l, anyLine)) << "torn or merged line: " << l;
            std::smatch m;
            if (std::regex_match(l, m, pluginLine)) {
                seen[{m[1].str(), std::stoi(m[2].str())}]++;
                afterRotation += text == &after ? 1 : 0;
            }
        }
    }
    int total = 0, wrong = 0;
    for (int p = 0; p < kPlugins; ++p)
        for (int i = 1; i <= kLines; ++i) {
            int n = seen[{"p" + std::to_string(p), i}];
            total += n;
            if (n != 1 && ++wrong <= 10) ADD_FAILURE() << "p" << p << " line " << i << " present " << n << " times";
        }
    EXPECT_EQ(total, kPlugins * kLines);
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(kPlugins * kLines));
    EXPECT_GT(afterRotation, 0) << "no plugin line after the rotation: the test proved nothing";
}

TEST_F(LogFile, ALogFileThatCannotBeOpenedStopsTheStartNamingFileAndReason) {
    install("a");
    writeConfig(hostSection("log_target = " + path("no/such/dir/hostd.log")) + probeSection("a"));
    EXPECT_EQ(start({"--check-config"}).waitExit(30s), 0);
    EXPECT_EQ(countLog(configPath() + ":3: warning: directory of log file " + path("no/such/dir/hostd.log") +
                       " does not exist"), 1) << log();
    EXPECT_EQ(start().waitExit(30s), 78);
    EXPECT_EQ(countLog("hostd: cannot start error=\"cannot open log file " + path("no/such/dir/hostd.log") +
                       ": No such file or directory\" exit_code=78"), 1) << log();
    EXPECT_TRUE(events().empty()) << "no plugin may start";

    if (!runningAsRoot() || !haveCommand("setpriv")) GTEST_SKIP() << "the permission case needs root and setpriv";
    fs::create_directory(path("private"));
    ::chmod(path("private").c_str(), 0700);
    writeConfig(hostSection("log_target = " + path("private/hostd.log")) + probeSection("a"));
    auto result = runCommand({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", HOSTD_BINARY_PATH,
                              "--config=" + configPath()});
    EXPECT_EQ(result.exitCode, 78) << result.output;
    EXPECT_EQ(countIn(result.output, "cannot open log file " + path("private/hostd.log") + ": Permission denied"), 1)
        << result.output;
}

TEST_F(LogFile, AStartFailureAfterTheLogOpenedIsInTheFileAndOnStderr) {
    install("a");
    writeConfig(hostSection("log_target = " + file() + "\npidfile = " + path("no/such/dir/hostd.pid")) +
                probeSection("a"));
    EXPECT_EQ(start().waitExit(30s), 71);
    std::string why = "cannot open pidfile " + path("no/such/dir/hostd.pid") + ": " + path("no") + ": No such file or directory";
    EXPECT_EQ(countIn(readFile(file()), "hostd: cannot start error=\"" + why), 1) << readFile(file());
    EXPECT_EQ(countLog("hostd: cannot start: " + why), 1) << log();
}

TEST_F(LogFile, TheDaemonWritesItsLinesToTheLogFile) {
    install("a");
    writeConfig(hostSection("log_target = " + file()) + probeSection("a", "log_lines = 3"));
    EXPECT_EQ(start({"--daemon", "--pidfile=" + path("hostd.pid")}).waitExit(60s), 0) << log();
    pid_t pid = readPidFile(path("hostd.pid"));
    ASSERT_GT(pid, 0);
    _reaper.watch(pid);
    ASSERT_TRUE(waitForText(file(), "hostd: ready running=1"));
    EXPECT_EQ(countIn(readFile(file()), "hostd: starting plugin_dir="), 1);
    ::kill(pid, SIGTERM);
    ASSERT_TRUE(waitUntil([&] { return gone(pid); }, 30s));
    std::string text = readFile(file());
    EXPECT_EQ(countIn(text, "plugin=a: line 3 from=plugin"), 1) << text;
    EXPECT_EQ(countIn(text, "hostd: drained "), 1) << text;
    EXPECT_EQ(log(), "") << "the invoker prints nothing on success";
}

TEST_F(LogFile, AReloadSwitchesFormatAndTargetAndKeepsTheOldOneIfTheNewCannotOpen) {
    install("a");
    writeConfig(hostSection() + probeSection("a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready"));
    writeConfig(hostSection("log_format = json\nlog_target = " + file()) + probeSection("a"));
    hostd.signal(SIGHUP);
    ASSERT_TRUE(waitForText(file(), "\"message\":\"configuration reloaded\""));
    EXPECT_EQ(countLog("hostd: log output changes format=json target=" + file()), 1) << log();
    EXPECT_EQ(countIn(readFile(file()), "\"message\":\"log output changed\""), 1);

    writeConfig(hostSection("log_format = json\nlog_target = " + path("missing/x.log")) + probeSection("a"));
    hostd.signal(SIGHUP);
    ASSERT_TRUE(waitForText(file(), "cannot change the log output; keeping the previous one"));
    hostd.signal(SIGTERM);
    ASSERT_EQ(hostd.waitExit(30s), 0);
    auto lines = splitLines(readFile(file()));
    for (const auto& l : lines) EXPECT_TRUE(parseJsonLine(l)) << l;
    EXPECT_EQ(countIn(readFile(file()), "\"message\":\"drained\""), 1);
    EXPECT_EQ(countLog("drained"), 0) << "stderr is no longer the log";
    struct stat st {};
    ASSERT_EQ(::stat(file().c_str(), &st), 0);
    mode_t umask = ::umask(022);  // hostd inherited this test's umask
    ::umask(umask);
    EXPECT_EQ(st.st_mode & 0777, 0640u & ~umask);
}

}  // namespace
}  // namespace hostd::test
