// The metrics endpoint under a hostile local user (issue: security of a root-run hostd, rows 4
// and 11): its token file, and connections that never send a request.
#include "DaemonSupport.h"
#include "MetricsSupport.h"
#include "Sockets.h"

#include <csignal>
#include <sys/socket.h>
#include <vector>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace hostd::test {
namespace {

class MetricsSecurity : public MetricsTest {
protected:
    std::string tokenFile(mode_t mode = 0600) const {
        std::string file = path("metrics.token");
        std::ofstream(file) << "s3cret-token\n";
        ::chmod(file.c_str(), mode);
        return file;
    }
};

TEST_F(MetricsSecurity, ARootOnlyTokenIsReadBeforeThePrivilegeDrop) {
    // The README's layout: the token is root's (0600), hostd runs as nobody.
    if (!runningAsRoot()) GTEST_SKIP() << "the privilege drop needs root";
    writeConfig(metricsSection("metrics_token_file = " + tokenFile() + "\nuser = nobody"));
    EXPECT_EQ(start({"--check-config"}).waitExit(15s), 0) << log();
    auto& hostd = start();
    EXPECT_EQ(get("/healthz", "s3cret-token").status, 200) << log();
    EXPECT_EQ(get("/healthz").status, 401);
    hostd.signal(SIGHUP);  // the token is re-read as nobody, which cannot: the one read at start stays
    ASSERT_TRUE(waitForLog("metrics token not reloaded; the previous token stays"));
    EXPECT_EQ(get("/healthz", "s3cret-token").status, 200);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_F(MetricsSecurity, ATokenFileOfAnotherUserIsRefused) {
    if (!runningAsRoot()) GTEST_SKIP() << "chown to another uid needs root";
    std::string file = tokenFile();
    ASSERT_EQ(::chown(file.c_str(), 4242, 4242), 0);
    writeConfig(metricsSection("metrics_token_file = " + file));
    EXPECT_EQ(start().waitExit(15s), 78);
    EXPECT_EQ(countLog("metrics_token_file " + file + ": refused: owned by uid 4242, must be owned by root"), 1) << log();
    EXPECT_EQ(start({"--check-config"}).waitExit(15s), 78);
    EXPECT_EQ(countLog(configPath() + ":5: metrics_token_file " + file + ": refused: owned by uid 4242"), 1) << log();
}

TEST_F(MetricsSecurity, IdleConnectionsWithoutTheTokenNeverKeepAnAuthorisedRequestOut) {
    writeConfig(metricsSection("metrics_token_file = " + tokenFile()));
    auto& hostd = start();
    ASSERT_NE(port(), 0);
    std::vector<int> idle;
    for (int i = 0; i < 200; ++i) idle.push_back(connectLoopback(port()));  // more than may be pending
    for (int i = 0; i < 5; ++i) EXPECT_EQ(get("/healthz", "s3cret-token").status, 200) << i;
    EXPECT_EQ(get("/healthz").status, 401);
    int closed = 0;
    for (int fd : idle) {
        char c;
        if (fd >= 0 && ::recv(fd, &c, 1, MSG_DONTWAIT) == 0) ++closed;  // pushed out to make room
    }
    EXPECT_GE(closed, 200 - 128);
    for (int fd : idle) ::close(fd);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_F(MetricsSecurity, ARequestThatNeverCompletesIsAnsweredWithATimeout) {
    writeConfig(metricsSection());
    start();
    int fd = connectLoopback(port());
    ASSERT_GE(fd, 0);
    const char partial[] = "GET /metrics HTTP/1.1\r\nHost: slow\r\n";
    ASSERT_EQ(::send(fd, partial, sizeof partial - 1, MSG_NOSIGNAL), static_cast<ssize_t>(sizeof partial - 1));
    timeval tv{15, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string answer;
    char buf[512];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 408")) << answer;
}

}  // namespace
}  // namespace hostd::test
