// hostctl's socket: who may connect, hostile clients, and the socket file's life.
#include "ControlSupport.h"

#include <csignal>
#include <filesystem>
#include <cstring>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace hostd::test {
namespace {

const std::vector<std::string> kNobody{"--reuid=65534", "--regid=65534", "--clear-groups"};

class ControlSocket : public ControlTest {
protected:
    void SetUp() override {
        ControlTest::SetUp();
        install("a");
    }
};

TEST_F(ControlSocket, IsCreatedWithMode0660) {
    writeConfig(hostSection() + probeSection("a"));
    startReady(1);
    struct stat st {};
    ASSERT_EQ(::lstat(controlSocket().c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0660u);
}

TEST_F(ControlSocket, RefusesOtherUsersWithAnAuditLine) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
    writeConfig(hostSection() + probeSection("a"));
    startReady(1);
    // The file's mode alone keeps them out; open it so that hostd's own check is what refuses.
    CommandResult r = hostctl({"status"}, kNobody);
    EXPECT_EQ(r.code, 77);
    EXPECT_EQ(r.err, "hostctl: permission denied: cannot connect to " + controlSocket() + "\n");
    ASSERT_EQ(::chmod(controlSocket().c_str(), 0666), 0);
    r = hostctl({"stop", "a"}, kNobody);
    EXPECT_EQ(r.code, 77);
    EXPECT_EQ(r.err, "hostctl: permission denied\n");
    EXPECT_TRUE(waitForLog("hostd: control connection refused: permission denied peer_pid="));
    EXPECT_EQ(countLog(" peer_uid=65534 peer_gid=65534"), 1) << log();
    EXPECT_EQ(events("stop").size(), 0u);
}

TEST_F(ControlSocket, AdmitsMembersOfControlGroup) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
    group* users = ::getgrnam("users");
    if (users == nullptr) GTEST_SKIP() << "no group 'users'";
    std::string gid = std::to_string(users->gr_gid);
    writeConfig(hostSection("control_group = users") + probeSection("a"));
    startReady(1);
    struct stat st {};
    ASSERT_EQ(::lstat(controlSocket().c_str(), &st), 0);
    EXPECT_EQ(st.st_gid, users->gr_gid);  // so that the group's members can connect
    // A supplementary member (SO_PEERGROUPS), and not a member.
    CommandResult r = hostctl({"stop", "a"}, {"--reuid=65534", "--regid=65534", "--groups=" + gid});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(waitForEvents([](auto& ev) { return ev.size() == 2; }));
    EXPECT_EQ(hostctl({"status"}, kNobody).code, 77);
}

TEST_F(ControlSocket, GarbageGetsAnErrorAndTheConnectionStaysUsable) {
    writeConfig(hostSection() + probeSection("a"));
    startReady(1);
    int fd = connectTo(controlSocket());
    ASSERT_GE(fd, 0);
    std::string garbage = "\x01\xff{not json\n{\"v\":2,\"cmd\":\"status\"}\n{\"v\":1,\"cmd\":\"list\",\"x\":[[[[1]]]]}\n"
                          "{\"v\":1,\"cmd\":\"status\"}\n";
    ASSERT_EQ(::send(fd, garbage.data(), garbage.size(), MSG_NOSIGNAL), static_cast<ssize_t>(garbage.size()));
    EXPECT_EQ(readLine(fd).rfind("{\"error\":\"malformed request: not a JSON object", 0), 0u);
    EXPECT_EQ(readLine(fd), "{\"error\":\"unsupported protocol version 2 (this hostd speaks 1)\",\"ok\":false,\"v\":1}");
    EXPECT_NE(readLine(fd).find("\"ok\":false"), std::string::npos);
    EXPECT_NE(readLine(fd).find("\"ok\":true,\"phase\":\"running\""), std::string::npos);
    ::close(fd);
}

TEST_F(ControlSocket, AnOverlongLineGetsAnErrorAndAClosedConnection) {
    writeConfig(hostSection() + probeSection("a"));
    startReady(1);
    int fd = connectTo(controlSocket());
    ASSERT_GE(fd, 0);
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    std::string huge(1 << 20, 'x');
    ::send(fd, huge.data(), huge.size(), MSG_NOSIGNAL);  // fails part way: hostd hangs up
    EXPECT_EQ(readLine(fd), "{\"error\":\"request too long (limit 65536 bytes)\",\"ok\":false,\"v\":1}");
    EXPECT_TRUE(closedByPeer(fd));
    ::close(fd);
    EXPECT_TRUE(waitForLog("hostd: control connection closed: request line too long limit_bytes=65536"));
    EXPECT_EQ(hostctl({"status"}).code, 0);
}

TEST_F(ControlSocket, AHalfClosedClientStillGetsItsReply) {
    writeConfig(hostSection() + probeSection("a"));
    startReady(1);
    int fd = connectTo(controlSocket());
    ASSERT_GE(fd, 0);
    std::string request = "{\"v\":1,\"cmd\":\"list\"}\n";
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    ::shutdown(fd, SHUT_WR);
    EXPECT_NE(readLine(fd).find("\"name\":\"a\""), std::string::npos);
    EXPECT_TRUE(closedByPeer(fd));
    ::close(fd);
}

TEST_F(ControlSocket, TwoHundredIdleClientsAreBoundedAndPluginsStillStart) {
    writeConfig(hostSection() + probeSection("a") + probeSection("b"));
    startReady(1);
    std::vector<int> clients;
    for (int i = 0; i < 200; ++i) {
        int fd = connectTo(controlSocket());
        ASSERT_GE(fd, 0) << i;
        clients.push_back(fd);
    }
    install("b");  // while they hang on the socket
    EXPECT_TRUE(waitForLog("plugin=b: started"));
    // 64 are served (idle, kept open); the others were told why and closed, and the log says
    // so once, then with a count: a flood of refusals is not a flood of lines.
    int refused = 0;
    for (int fd : clients)
        if (closedByPeer(fd, 20ms)) ++refused;
    EXPECT_EQ(refused, 136);
    EXPECT_TRUE(waitForLog("control connections refused meanwhile (not each logged) count=135")) << log();
    EXPECT_EQ(countLog("control connection refused: too many clients (limit 64)"), 1) << log();
    CommandResult full = hostctl({"status"});
    EXPECT_EQ(full.err, "hostctl: too many clients (limit 64)\n");
    for (int fd : clients) ::close(fd);
    EXPECT_TRUE(waitUntil([&] { return hostctl({"status"}).code == 0; }, 10s));
}

TEST_F(ControlSocket, AStaleSocketFileIsTakenOver) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, controlSocket().c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);  // a socket file nobody listens on, as a killed hostd leaves it
    writeConfig(hostSection() + probeSection("a"));
    startReady(1);
    EXPECT_EQ(countLog("hostd: removed a stale control socket (nobody listened on it) path=" + controlSocket()), 1);
    EXPECT_EQ(hostctl({"status"}).code, 0);
}

TEST_F(ControlSocket, ASecondInstanceOnTheSameSocketIsRefused) {
    writeConfig(hostSection() + probeSection("a"));
    startReady(1);
    HostdProcess second({"--config=" + configPath()}, path("second.log"));
    EXPECT_EQ(second.waitExit(15s), 71);
    EXPECT_NE(readFile(path("second.log")).find("another hostd is listening on " + controlSocket()), std::string::npos)
        << readFile(path("second.log"));
    EXPECT_EQ(hostctl({"status"}).code, 0);  // the first one's socket is untouched
}

TEST_F(ControlSocket, AnExplicitSocketInAMissingDirectoryIsAConfigurationError) {
    std::filesystem::remove(controlDropin());
    writeConfig(hostSection("control_socket = " + path("nodir/control.sock")) + probeSection("a"));
    auto& hostd = start();
    EXPECT_EQ(hostd.waitExit(15s), 78);
    EXPECT_EQ(countLog("control_socket " + path("nodir/control.sock") + ": directory " + path("nodir") + " does not exist"), 1)
        << log();
    EXPECT_TRUE(events().empty());
}

TEST_F(ControlSocket, TheDefaultSocketInAMissingDirectoryIsAWarning) {
    if (std::filesystem::exists("/run/hostd")) GTEST_SKIP() << "/run/hostd exists here";
    std::filesystem::remove(controlDropin());
    writeConfig("[hostd]\nplugin_dir = " + pluginDir() + "\n" + probeSection("a"));
    auto& hostd = startReady(1);
    EXPECT_EQ(countLog("hostd: control socket directory does not exist; running without hostctl access "
                       "path=/run/hostd/control.sock"), 1);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_F(ControlSocket, AnEmptyControlSocketDisablesIt) {
    std::filesystem::remove(controlDropin());
    writeConfig(hostSection("control_socket =") + probeSection("a"));
    startReady(1);
    EXPECT_EQ(countLog("hostd: control socket disabled (control_socket is empty)"), 1);
    EXPECT_FALSE(std::filesystem::exists(controlSocket()));
}

}  // namespace
}  // namespace hostd::test
