// The metrics endpoint under a hostile local user (issue: security of a root-run hostd, rows 4
// and 11): its token file, and connections that never send a request.
#include "DaemonSupport.h"
#include "MetricsSupport.h"

#include <csignal>
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

}  // namespace
}  // namespace hostd::test
