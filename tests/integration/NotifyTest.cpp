// sd_notify: the messages a fake service manager receives on $NOTIFY_SOCKET, in order.
#include "Harness.h"

#include <csignal>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace hostd::test {
namespace {

class Notify : public HostdTest {
protected:
    void SetUp() override {
        HostdTest::SetUp();
        _socketPath = path("notify.sock");
        _fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ASSERT_GE(_fd, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", _socketPath.c_str());
        ASSERT_EQ(::bind(_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    }
    void TearDown() override {
        ::close(_fd);
        HostdTest::TearDown();
    }

    /// The next datagram, or "" after 15 s.
    std::string next() {
        pollfd p{_fd, POLLIN, 0};
        if (::poll(&p, 1, 15000) != 1) return "";
        char buf[4096];
        ssize_t n = ::recv(_fd, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
    }

    std::string _socketPath;
    int _fd = -1;
};

TEST_F(Notify, ManagerHearsReadyReloadingAndStoppingInOrder) {
    install("a");
    writeConfig(hostSection() + probeSection("a"));
    auto& hostd = start({}, {"NOTIFY_SOCKET=" + _socketPath});
    EXPECT_EQ(next(), "READY=1\nSTATUS=running 1 plugins, 0 failed");
    hostd.signal(SIGHUP);
    std::string reloading = next();
    EXPECT_TRUE(reloading.starts_with("RELOADING=1\nMONOTONIC_USEC=")) << reloading;
    EXPECT_EQ(next(), "READY=1\nSTATUS=configuration generation 2");
    hostd.signal(SIGTERM);
    EXPECT_EQ(next(), "STOPPING=1\nSTATUS=draining 1 plugins (SIGTERM)");
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_F(Notify, AReloadInterruptedByAHungLoadIsFinishedAndReportedReady) {
    // Enabling b loads it in the middle of the reload; its constructor never returns. The loop's
    // next thread finishes the reload: the manager is not left in "reloading" for good.
    install("a");
    install("b", "probe_constructor_hang");
    std::string host = hostSection("load_timeout = 300ms");
    writeConfig(host + probeSection("a") + probeSection("b", "enabled = false"));
    auto& hostd = start({}, {"NOTIFY_SOCKET=" + _socketPath});
    EXPECT_EQ(next(), "READY=1\nSTATUS=running 1 plugins, 0 failed");
    writeConfig(host + probeSection("a") + probeSection("b"));  // hostd reloads a changed file by itself
    EXPECT_TRUE(next().starts_with("RELOADING=1\nMONOTONIC_USEC="));
    EXPECT_EQ(next(), "READY=1\nSTATUS=configuration generation 2") << log();
    EXPECT_EQ(countLog("finishing the configuration reload the hung load interrupted"), 1) << log();
    hostd.signal(SIGTERM);
    EXPECT_EQ(next(), "STOPPING=1\nSTATUS=draining 1 plugins (SIGTERM)");
    EXPECT_EQ(hostd.waitExit(15s), 4);  // kExitStopTimeout: b never finished loading
}

TEST_F(Notify, NothingIsSentWithoutNotifySocket) {
    install("a");
    writeConfig(hostSection() + probeSection("a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready"));
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
    pollfd p{_fd, POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 0), 0);
}

}  // namespace
}  // namespace hostd::test
