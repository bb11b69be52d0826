#include "DaemonSupport.h"

#include <arpa/inet.h>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sstream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace hostd::test {

CommandResult runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    CommandResult result;
    char outPath[] = "/tmp/hostd-command.XXXXXX";
    int out = ::mkstemp(outPath);
    if (out < 0) return result;
    std::vector<std::string> copy = argv;
    std::vector<char*> args;
    for (auto& a : copy) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        int devnull = ::open("/dev/null", O_RDONLY);
        ::dup2(devnull, 0);
        ::dup2(out, 1);
        ::dup2(out, 2);
        ::execvp(args[0], args.data());
        std::fprintf(stderr, "cannot run %s\n", args[0]);
        ::_exit(127);
    }
    ::close(out);
    if (pid > 0) {
        int status = 0;
        bool exited = waitUntil([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, timeout);
        if (!exited) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
        } else {
            result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
    }
    result.output = readFile(outPath);
    ::unlink(outPath);
    return result;
}

bool haveCommand(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':'))
        if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return true;
    return false;
}

bool runningAsRoot() { return ::geteuid() == 0; }

std::map<std::string, std::string> procStatus(pid_t pid, std::optional<pid_t> tid) {
    std::string file = "/proc/" + std::to_string(pid) + (tid ? "/task/" + std::to_string(*tid) : "") + "/status";
    std::map<std::string, std::string> out;
    std::istringstream in(readFile(file));
    std::string line;
    while (std::getline(in, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        auto value = line.find_first_not_of(" \t", colon + 1);
        out[line.substr(0, colon)] = value == std::string::npos ? "" : line.substr(value);
    }
    return out;
}

std::vector<std::string> procStat(pid_t pid) {
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    std::string text = readFile("/proc/" + std::to_string(pid) + "/stat");
    auto close = text.rfind(')');
    if (close == std::string::npos) return {};
    std::vector<std::string> fields{"", text.substr(0, text.find(' ')), text.substr(text.find('(') + 1, close - text.find('(') - 1)};
    std::istringstream rest(text.substr(close + 1));
    std::string f;
    while (rest >> f) fields.push_back(f);
    return fields;
}

std::vector<pid_t> threadsOf(pid_t pid) {
    std::vector<pid_t> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec))
        out.push_back(static_cast<pid_t>(std::stol(e.path().filename().string())));
    return out;
}

std::string fdTarget(pid_t pid, int fd) {
    std::error_code ec;
    auto target = fs::read_symlink("/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd), ec);
    return ec ? "" : target.string();
}

std::vector<std::string> openFiles(pid_t pid) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        std::error_code linkError;
        out.push_back(fs::read_symlink(e.path(), linkError).string());
    }
    return out;
}

std::string limitLine(pid_t pid, const std::string& name) {
    std::istringstream in(readFile("/proc/" + std::to_string(pid) + "/limits"));
    std::string line;
    while (std::getline(in, line)) {
        if (!line.starts_with(name + " ")) continue;
        std::istringstream words(line);
        std::string word, collapsed;
        while (words >> word) collapsed += (collapsed.empty() ? "" : " ") + word;
        return collapsed;
    }
    return "";
}

bool gone(pid_t pid) {
    auto stat = procStat(pid);
    if (stat.size() < 4) return true;
    if (stat[3] != "Z") return false;
    // A zombie leader can have threads still exiting (after a SIGKILL, say), which hold the
    // process's files, and so its pidfile lock, open: gone once the leader is its last task.
    std::error_code ec;
    std::size_t tasks = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++tasks;
    return tasks <= 1;
}

pid_t readPidFile(const std::string& path) {
    std::istringstream in(readFile(path));
    pid_t pid = 0;
    return in >> pid ? pid : 0;
}

void copyPlugin(const std::string& from, const std::string& pluginDir, const std::string& name) {
    std::string tmp = pluginDir + "/." + name + ".tmp";
    fs::copy_file(from, tmp, fs::copy_options::overwrite_existing);
    ::chmod(tmp.c_str(), 0644);
    fs::rename(tmp, pluginDir + "/" + name + ".so");
}

int freePrivilegedPort() {
    // Start at a per-process offset: tests running in parallel rarely probe the same port.
    for (int i = 0; i < 400; ++i) {
        int port = 600 + (::getpid() + i) % 400;
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(fd);
        if (free) return port;
    }
    return 0;
}

NotifySocket::NotifySocket(const std::string& path) {
    _fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (_fd < 0 || ::bind(_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error("cannot bind the notify socket " + path);
}

NotifySocket::~NotifySocket() { ::close(_fd); }

std::string NotifySocket::next(std::chrono::milliseconds timeout) {
    pollfd p{_fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return "";
    char buf[4096];
    ssize_t n = ::recv(_fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
}

std::string NotifySocket::nextExcept(const std::string& skipped, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left <= 0ms) return "";
        std::string message = next(left);
        if (message != skipped) return message;
    }
}

int NotifySocket::count(const std::string& message, std::chrono::milliseconds during) {
    auto deadline = std::chrono::steady_clock::now() + during;
    int n = 0;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left <= 0ms) return n;
        if (next(left) == message) ++n;
    }
}

DaemonReaper::~DaemonReaper() { killAll(); }

void DaemonReaper::killAll() {
    for (pid_t pid : _pids) {
        if (pid <= 0 || gone(pid)) continue;
        ::kill(pid, SIGKILL);
        waitUntil([&] { return gone(pid); }, 10s);
    }
    _pids.clear();
}

}  // namespace hostd::test
