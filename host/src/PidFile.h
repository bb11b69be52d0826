#pragma once

#include "UniqueFd.h"

#include <string>
#include <sys/types.h>

namespace hostd {

/// A locked pidfile (DESIGN.md section 2), held for the life of the process.
///
/// The lock, not the file's existence, says whether hostd runs: flock(LOCK_EX|LOCK_NB) on a
/// descriptor opened O_CLOEXEC, released by the kernel however the process ends. So a second
/// instance is refused at once, and a file left by a killed instance is simply taken over.
/// Must be acquired after the last fork (the pid written is the caller's).
class PidFile {
public:
    static PidFile acquire(const std::string& path);
        /// Opens path (created 0644; symbolic links are refused), locks it and writes the pid.
        /// Throws StartupError (kExitOsError): "hostd already running (pid N, pidfile FILE)"
        /// if another process holds the lock, or the system error.

    PidFile(PidFile&& other) noexcept = default;
    PidFile& operator=(PidFile&& other) noexcept;
    PidFile(const PidFile&) = delete;
    PidFile& operator=(const PidFile&) = delete;
    ~PidFile();
        /// Removes the file if it is still the one locked, then releases the lock. If the
        /// directory no longer lets the process remove it (privileges were dropped), empties
        /// it instead, so no stale pid remains.

    const std::string& path() const noexcept { return _path; }

    static pid_t readPid(int fd);
        /// The pid written in the file fd, or 0 if there is none.

private:
    PidFile(std::string path, UniqueFd fd) : _path(std::move(path)), _fd(std::move(fd)) {}
    void release() noexcept;

    std::string _path;
    UniqueFd _fd;
};

}  // namespace hostd
