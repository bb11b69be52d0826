#include "ControlSupport.h"

#include <Poco/JSON/Parser.h>

#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace hostd::test {

namespace {

CommandResult run(std::vector<std::string> argv, const std::string& outPath, const std::string& errPath) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
        int out = ::open(outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = ::open(errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(out, 1);
        ::dup2(err, 2);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), readFile(outPath), readFile(errPath)};
}

}  // namespace

CommandResult ControlTest::hostctlRaw(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{HOSTD_HOSTCTL_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, path("hostctl.out"), path("hostctl.err"));
}

CommandResult ControlTest::hostctl(const std::vector<std::string>& args, const std::vector<std::string>& asUser) const {
    std::vector<std::string> argv;
    if (!asUser.empty()) {
        argv.push_back("setpriv");
        argv.insert(argv.end(), asUser.begin(), asUser.end());
    }
    argv.push_back(HOSTD_HOSTCTL_PATH);
    argv.push_back("--socket=" + controlSocket());
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, path("hostctl.out"), path("hostctl.err"));
}

Poco::JSON::Object::Ptr ControlTest::json(const std::vector<std::string>& args) const {
    std::vector<std::string> all{"--json"};
    all.insert(all.end(), args.begin(), args.end());
    CommandResult r = hostctl(all);
    EXPECT_EQ(r.code, 0) << r.err;
    return Poco::JSON::Parser().parse(r.out).extract<Poco::JSON::Object::Ptr>();
}

HostdProcess& ControlTest::startReady(int running) {
    HostdProcess& hostd = start();
    EXPECT_TRUE(waitForLog("hostd: ready running=" + std::to_string(running) + " ")) << log();
    return hostd;
}

int connectTo(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

std::string readLine(int fd, std::chrono::milliseconds timeout) {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        char c;
        if (::recv(fd, &c, 1, 0) != 1 || c == '\n') return line;
        line += c;
    }
    return line;
}

bool closedByPeer(int fd, std::chrono::milliseconds timeout) {
    return waitUntil(
        [&] {
            char buf[4096];
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 0) <= 0) return false;
            ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            return n == 0 || (n < 0 && errno != EAGAIN);
        },
        timeout);
}

}  // namespace hostd::test
