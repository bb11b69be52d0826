#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace hostd::test {

using namespace std::chrono_literals;

/// A real hostd process with stdout and stderr appended to a file. Killed (SIGKILL) and
/// reaped on destruction if still running, so a failing test never leaks a daemon.
class HostdProcess {
public:
    HostdProcess(const std::vector<std::string>& args, const std::string& logPath,
                 const std::vector<std::string>& extraEnv = {});
        /// Starts HOSTD_BINARY with args, this environment plus extraEnv ("KEY=VALUE"), and a
        /// clean signal mask. Throws std::runtime_error.
    ~HostdProcess();
    HostdProcess(const HostdProcess&) = delete;
    HostdProcess& operator=(const HostdProcess&) = delete;

    pid_t pid() const { return _pid; }
    void signal(int sig) const;
    std::optional<int> waitExit(std::chrono::milliseconds timeout);
        /// The exit code (128 + N if killed by signal N), or nothing if still running after timeout.
    bool running();

private:
    pid_t _pid = -1;
    std::optional<int> _exit;
};

bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout);
    /// Polls done() every few ms until true or timeout; the only synchronisation tests use.

std::string readFile(const std::string& path);

}  // namespace hostd::test
