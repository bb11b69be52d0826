#pragma once

// What ProcessExecutor knows of each of its runners, and how it ends one: shared by its units
// (ProcessExecutor.cpp, SpareRunner.cpp), not by the rest of the host.
#include "Config.h"
#include "ProcessExecutor.h"

#include <csignal>
#include <string>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace hostd {

/// One runner process and what hostd knows of it.
struct ProcessExecutor::Runner {
    std::string plugin;
    pid_t pid = -1;
    UniqueFd pidfd, socket, out, err;
    std::string outLine, errLine;  // a line not yet ended
    bool alive = true;
    bool unloading = false;
    std::string killedWhy;  // set when hostd kills it: what its end is said to be
    std::string how;        // its end, once it ended: "exited with status 3", "crashed (SIGSEGV)"
    Confinement confinement;  // as configured when it was spawned
    std::string violation;    // the system call seccomp refused, if it did
    // Hello and Loaded, while it loads.
    bool greeted = false, loaded = false;
    std::string loadError, version;
    bool hasReload = false;
    std::vector<std::string> dependencies;
    // The call in flight.
    std::uint64_t callId = 0;
    std::uint32_t wireId = 0;
    PluginCall call = PluginCall::Start;
    Clock::time_point callStarted{};
};

namespace runnerstate {

using Runner = ProcessExecutor::Runner;

inline void killGroup(Runner& r, int sig) {
    // The runner leads its process group: what the plugin forked goes with it.
    if (r.pid > 0) ::kill(-r.pid, sig);
    ::syscall(SYS_pidfd_send_signal, r.pidfd.get(), sig, nullptr, 0);
}

inline void killAndReap(Runner& r) {
    killGroup(r, SIGKILL);
    siginfo_t info{};
    ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(r.pidfd.get()), &info, WEXITED);
}

}  // namespace runnerstate

}  // namespace hostd
