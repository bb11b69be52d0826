// The control plane under a hostile local user (issue: security of a root-run hostd, rows 3,
// 5, 6 and 12): an authorised peer cannot lock root out, starve the loop or hide its actions,
// and root's hostctl never talks to, nor shows the escape sequences of, an impostor.
#include "ControlSupport.h"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace hostd::test {
namespace {

constexpr uid_t kNobody = 65534;

/// A child process running body as uid/gid 65534 (with no other group); killed and reaped on
/// destruction. body reports lines through reportFd (say()).
class AsNobody {
public:
    explicit AsNobody(const std::function<void(int reportFd)>& body) {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return;  // readLine() needs a socket
        _pid = ::fork();
        if (_pid == 0) {
            ::close(fds[0]);
            gid_t gid = kNobody;
            if (::setgroups(1, &gid) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) ::_exit(1);
            body(fds[1]);
            ::pause();
            ::_exit(0);
        }
        ::close(fds[1]);
        _report = fds[0];
    }
    ~AsNobody() {
        if (_pid > 0) {
            ::kill(_pid, SIGKILL);
            ::waitpid(_pid, nullptr, 0);
        }
        if (_report >= 0) ::close(_report);
    }
    std::string report(std::chrono::milliseconds timeout = 10s) const { return readLine(_report, timeout); }

private:
    pid_t _pid = -1;
    int _report = -1;
};

void say(int fd, const std::string& line) {
    std::string l = line + "\n";
    (void)!::write(fd, l.data(), l.size());
}

class ControlSecurity : public ControlTest {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "acting as another user needs root (CI runs as root)";
        ControlTest::SetUp();
        install("a");
    }
};

TEST_F(ControlSecurity, AnAuthorisedUserHoldingEveryConnectionCannotLockRootOut) {
    writeConfig(hostSection("control_group = " + std::to_string(kNobody)) + probeSection("a"));
    startReady(1);
    std::string socket = controlSocket();
    AsNobody flood([&](int report) {
        std::vector<int> fds;
        for (int i = 0; i < 64; ++i) fds.push_back(connectTo(socket));
        std::vector<bool> closed(fds.size(), false);
        auto countClosed = [&] {
            for (std::size_t i = 0; i < fds.size(); ++i)
                if (!closed[i]) closed[i] = fds[i] < 0 || closedByPeer(fds[i], 0ms);
            return std::count(closed.begin(), closed.end(), true);
        };
        waitUntil([&] { return countClosed() >= 56; }, 10s);  // refused: told why a second later
        say(report, std::to_string(fds.size() - static_cast<std::size_t>(countClosed())));
    });
    EXPECT_EQ(flood.report(15s), "8");  // kMaxPerUser stay open
    EXPECT_TRUE(waitForLog("control connection refused: too many clients of uid 65534 (limit 8)")) << log();
    CommandResult status = hostctl({"status"});
    EXPECT_EQ(status.code, 0) << status.err;
}

TEST_F(ControlSecurity, RequestsOfAUserOtherThanRootAreServedAtABoundedRate) {
    writeConfig(hostSection("control_group = " + std::to_string(kNobody)) + probeSection("a"));
    startReady(1);
    std::string socket = controlSocket();
    AsNobody client([&](int report) {
        int fd = connectTo(socket);
        std::string burst;
        for (int i = 0; i < 40; ++i) burst += "{\"v\":1,\"cmd\":\"status\"}\n";
        auto t0 = std::chrono::steady_clock::now();
        (void)!::send(fd, burst.data(), burst.size(), MSG_NOSIGNAL);
        int replies = 0;
        while (replies < 40 && !readLine(fd, 10s).empty()) ++replies;
        auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
        say(report, std::to_string(replies) + " " + std::to_string(took.count()));
    });
    std::string result = client.report(30s);
    int replies = 0;
    long took = 0;
    ASSERT_EQ(std::sscanf(result.c_str(), "%d %ld", &replies, &took), 2) << result;
    EXPECT_EQ(replies, 40);
    EXPECT_GE(took, 900) << "20 at once, then 20 a second";  // a lower bound: it cannot be faster
    CommandResult status = hostctl({"status"});  // root is not limited
    EXPECT_EQ(status.code, 0) << status.err;
}

TEST_F(ControlSecurity, AnEchoCutInsideACharacterOrAHugeVersionGetsAProperAnswer) {
    writeConfig(hostSection() + probeSection("a"));
    startReady(1);
    std::string euros;
    for (int i = 0; i < 30; ++i) euros += "\xE2\x82\xAC";  // the 64-byte cut falls inside one
    CommandResult level = hostctl({"log-level", euros});
    EXPECT_EQ(level.code, 1) << level.err;  // refused by hostd, not "hostd is not running" (69)
    EXPECT_NE(level.err.find("unknown log level '" + euros.substr(0, 63) + "'"), std::string::npos) << level.err;
    int fd = connectTo(controlSocket());
    std::string wrapped = "{\"v\":18446744073709551617,\"cmd\":\"stop\",\"plugin\":\"a\"}\n";
    ::send(fd, wrapped.data(), wrapped.size(), MSG_NOSIGNAL);
    EXPECT_EQ(readLine(fd), R"({"error":"number out of range in the request","ok":false,"v":1})");
    ::close(fd);
    EXPECT_EQ(countLog("control command cmd=stop"), 0);
}

TEST_F(ControlSecurity, AnIdleConnectionIsClosed) {
    writeConfig(hostSection() + probeSection("a"));
    startReady(1);
    int fd = connectTo(controlSocket());
    ASSERT_GE(fd, 0);
    EXPECT_EQ(readLine(fd, 30s), R"({"error":"idle for too long; closed","ok":false,"v":1})");
    EXPECT_TRUE(closedByPeer(fd));
    ::close(fd);
}

TEST_F(ControlSecurity, AFloodOfRequestsDelaysNeitherPluginInstallsNorRootsHostctl) {
    writeConfig(hostSection() + probeSection("a") + probeSection("b"));
    startReady(1);
    std::atomic<bool> stop{false};
    std::atomic<long> served{0};
    std::vector<std::thread> flood;
    for (int c = 0; c < 8; ++c)
        flood.emplace_back([&] {
            int fd = connectTo(controlSocket());
            std::string burst;
            for (int i = 0; i < 50; ++i) burst += "{\"v\":1,\"cmd\":\"top\"}\n";
            while (!stop && fd >= 0) {
                if (::send(fd, burst.data(), burst.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(burst.size())) break;
                int lines = 0;
                while (lines < 50 && !stop) {
                    std::string line = readLine(fd, 5s);
                    if (line.empty()) break;
                    ++lines;
                }
                served += lines;
            }
            if (fd >= 0) ::close(fd);
        });
    bool flooding = waitUntil([&] { return served > 500; }, 15s);
    if (flooding) install("b");  // while the flood goes on
    bool started = flooding && waitForLog("plugin=b: started");
    CommandResult status = hostctl({"status"});
    stop = true;
    for (auto& t : flood) t.join();
    EXPECT_TRUE(flooding) << "served " << served;
    EXPECT_TRUE(started) << log();
    EXPECT_EQ(status.code, 0) << status.err;
}

TEST_F(ControlSecurity, StateChangingCommandsAreAuditedWhateverTheLogLevel) {
    writeConfig(hostSection() + probeSection("a"));
    startReady(1);
    EXPECT_EQ(hostctl({"log-level", "error"}).code, 0);
    EXPECT_EQ(hostctl({"stop", "a"}).code, 0);
    EXPECT_TRUE(waitForLog("plugin=a: control command cmd=stop peer_pid=")) << log();
    EXPECT_EQ(countLog("hostd: control command cmd=log-level"), 1);
}

TEST_F(ControlSecurity, HostdRefusesASocketDirectoryOthersCanWriteEvenWithTheStickyBit) {
    std::string dir = path("public");
    std::filesystem::create_directory(dir);
    ::chmod(dir.c_str(), 01777);
    std::filesystem::remove(controlDropin());
    writeConfig(hostSection("control_socket = " + dir + "/control.sock"));
    EXPECT_EQ(start().waitExit(30s), 78);
    EXPECT_EQ(countLog("control_socket " + dir + "/control.sock: directory " + dir +
                       " refused: group- or world-writable (mode 1777)"),
              1)
        << log();
}

TEST_F(ControlSecurity, HostctlSendsNothingToAnImpostorAndShowsNoneOfItsEscapes) {
    // hostd is not running; another user bound the name in a directory everyone can write to.
    std::string dir = path("public");
    std::filesystem::create_directory(dir);
    ::chmod(dir.c_str(), 01777);
    std::string socket = dir + "/control.sock";
    AsNobody impostor([&](int report) {
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 4) != 0) say(report, "no");
        ::chmod(socket.c_str(), 0666);
        say(report, "listening");
        int client = ::accept(fd, nullptr, nullptr);
        std::string reply = "{\"v\":1,\"ok\":false,\"error\":\"\x1b[2J\x1b]0;owned\x07\"}\n";
        (void)!::write(client, reply.data(), reply.size());
        std::string got = readLine(client, 2s);
        say(report, "received:" + got);
    });
    ASSERT_EQ(impostor.report(), "listening");
    CommandResult r = hostctlRaw({"--socket=" + socket, "stop", "a"});
    EXPECT_EQ(r.code, 69);
    EXPECT_NE(r.err.find("refusing to talk to " + socket + ": it is served by uid 65534"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\x1b'), std::string::npos);
    EXPECT_EQ(impostor.report(), "received:");  // not a byte of the request
}

TEST_F(ControlSecurity, HostctlEscapesControlCharactersInWhatHostdSays) {
    // A reply from a trusted server (root, in a directory only root can write to) may still
    // carry what a plugin wrote, escape sequences included.
    std::string socket = path("fake.sock");
    int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(listener, 4), 0);
    std::thread server([&] {
        for (int i = 0; i < 2; ++i) {
            int client = ::accept(listener, nullptr, nullptr);
            readLine(client, 5s);
            std::string reply = i == 0 ? "{\"v\":1,\"ok\":false,\"error\":\"bad \\u001b[2J \xc2\x9b" "31m\"}\n"
                                       : "{\"v\":1,\"ok\":true,\"plugin\":\"a\\u001b]0;x\\u0007\",\"state\":\"running\"}\n";
            (void)!::write(client, reply.data(), reply.size());
            ::close(client);
        }
    });
    CommandResult error = hostctlRaw({"--socket=" + socket, "stop", "a"});
    CommandResult ok = hostctlRaw({"--socket=" + socket, "stop", "a"});
    server.join();
    ::close(listener);
    EXPECT_EQ(error.code, 1);
    EXPECT_EQ(error.err, "hostctl: bad \\u001b[2J \\u009b31m\n");
    EXPECT_EQ(ok.out, "stop a\\u001b]0;x\\u0007: accepted (now running)\n");
}

}  // namespace
}  // namespace hostd::test
