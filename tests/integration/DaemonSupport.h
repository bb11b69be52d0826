#pragma once

#include "Harness.h"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace hostd::test {

/// What a finished command printed (stdout and stderr together) and its exit code
/// (128 + N if killed by signal N, -1 if it could not run or timed out).
struct CommandResult {
    int exitCode = -1;
    std::string output;
};

CommandResult runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 120s);
    /// Runs argv[0] (looked up in PATH) with a clean signal mask; kills it at the timeout.

bool haveCommand(const std::string& name);
    /// True if name is an executable in PATH.

bool runningAsRoot();

/// /proc views of a live process (or one of its threads).
std::map<std::string, std::string> procStatus(pid_t pid, std::optional<pid_t> tid = std::nullopt);
    /// The "Key:\tvalue" lines of /proc/PID/status (or /proc/PID/task/TID/status).
std::vector<std::string> procStat(pid_t pid);
    /// The fields of /proc/PID/stat, 1-based as in proc(5) (index 0 is empty).
std::vector<pid_t> threadsOf(pid_t pid);
std::string fdTarget(pid_t pid, int fd);
    /// readlink of /proc/PID/fd/FD, or "" if closed.
std::vector<std::string> openFiles(pid_t pid);
    /// readlink of every /proc/PID/fd/*.
std::string limitLine(pid_t pid, const std::string& name);
    /// The /proc/PID/limits line for e.g. "Max open files", whitespace collapsed:
    /// "Max open files 1000 2000 files".
bool gone(pid_t pid);
    /// True if pid no longer runs (absent, or a zombie waiting for its reaper).

pid_t readPidFile(const std::string& path);
    /// The pid in a pidfile, or 0.

void copyPlugin(const std::string& from, const std::string& pluginDir, const std::string& name);
    /// Installs from as pluginDir/NAME.so (mode 0644) by write-then-rename.

int freePrivilegedPort();
    /// A loopback TCP port below 1024 that nothing listens on right now (root only).

/// A fake service manager: a datagram socket bound at a path, for NOTIFY_SOCKET.
class NotifySocket {
public:
    explicit NotifySocket(const std::string& path);
    ~NotifySocket();
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;

    std::string next(std::chrono::milliseconds timeout = 15s);
        /// The next datagram, or "" if none arrives in time.
    std::string nextExcept(const std::string& skipped, std::chrono::milliseconds timeout = 15s);
        /// The next datagram other than `skipped` (e.g. "WATCHDOG=1"), or "".
    int count(const std::string& message, std::chrono::milliseconds during);
        /// How many datagrams equal to message arrive during the given time.

private:
    int _fd = -1;
};

/// Kills (SIGKILL) and awaits each daemonized hostd it was given that still runs: a daemon is
/// not the test's child, so HostdProcess cannot clean it up.
class DaemonReaper {
public:
    ~DaemonReaper();
    void watch(pid_t pid) { _pids.push_back(pid); }
    void killAll();

private:
    std::vector<pid_t> _pids;
};

}  // namespace hostd::test
