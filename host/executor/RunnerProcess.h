#pragma once

#include "UniqueFd.h"

#include <string>
#include <sys/types.h>

namespace hostd {

/// A hostd-runner just spawned (DESIGN.md section 10): its pidfd, hostd's end of its socket,
/// the read ends of its stdout and stderr (all non-blocking). The runner has the socket on fd 3,
/// the pipes on 1 and 2, /dev/null on 0, nothing else of hostd's (the plugin's copy comes with
/// its Load message: sendWithDescriptor);
/// an empty signal mask, default handlers, a process group of its own, and only PATH (and TZ,
/// LANG, LC_ALL and the sanitizers' options, if set) in its environment.
struct RunnerProcess {
    pid_t pid = -1;
    UniqueFd pidfd, socket, out, err;
};

std::string runnerPath();
    /// hostd-runner beside this executable (the build tree), else in the installed libexec
    /// dir; "/proc/self/fd/N" once openRunnerFile() has opened it.
void openRunnerFile();
    /// Opens runnerPath() for good, before hostd drops its privileges: a runner is then spawned
    /// from that very file, which hostd's user need not be able to reach (a build tree under a
    /// private directory) and which no later rename can replace.

RunnerProcess startRunner(const std::string& path, bool spare = false);
    /// Spawns path with hostd's pid as its argument (and "spare": it loads the C++ runtime
    /// while it waits for a plugin). Throws LoadError.

bool sendWithDescriptor(int socket, const std::string& message, int fd);
    /// One message on socket carrying fd (SCM_RIGHTS); false with errno set if not sent.

}  // namespace hostd
