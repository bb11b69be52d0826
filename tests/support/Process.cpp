#include "Process.h"

#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace hostd::test {

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (done()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
}

HostdProcess::HostdProcess(const std::vector<std::string>& args, const std::string& logPath,
                           const std::vector<std::string>& extraEnv) {
    std::vector<char*> argv;
    std::string binary = HOSTD_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    int logFd = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logFd < 0) throw std::runtime_error("cannot open " + logPath);
    _pid = ::fork();
    if (_pid == 0) {
        // The test runner may block signals; hostd must start from a clean mask like under
        // systemd or a shell.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        int devnull = ::open("/dev/null", O_RDONLY);
        ::dup2(devnull, 0);
        ::dup2(logFd, 1);
        ::dup2(logFd, 2);
        for (const auto& kv : extraEnv) ::putenv(const_cast<char*>(kv.c_str()));
        // Crash tests kill hostd on purpose: no core files from them.
        struct rlimit noCore {0, 0};
        ::setrlimit(RLIMIT_CORE, &noCore);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(logFd);
    if (_pid < 0) throw std::runtime_error("fork failed");
}

HostdProcess::~HostdProcess() {
    if (!_exit && _pid > 0) {
        ::kill(_pid, SIGKILL);
        int status = 0;
        ::waitpid(_pid, &status, 0);
    }
}

void HostdProcess::signal(int sig) const { ::kill(_pid, sig); }

bool HostdProcess::running() { return !waitExit(0ms).has_value(); }

std::optional<int> HostdProcess::waitExit(std::chrono::milliseconds timeout) {
    if (_exit) return _exit;
    waitUntil(
        [&] {
            int status = 0;
            pid_t r = ::waitpid(_pid, &status, WNOHANG);
            if (r == _pid) _exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            return _exit.has_value();
        },
        timeout);
    return _exit;
}

}  // namespace hostd::test
