#pragma once

#include "HostFds.h"
#include "TrustedPath.h"
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
///
/// The directory must pass the trust rules (TrustedPath.h), and the file is opened relative to
/// it, never through a link. A file that is already there is taken over only if it is one a
/// pidfile can be (a regular file of a trusted owner, one link, holding nothing but a pid):
/// hostd never truncates, chmods or removes a file it did not create. Whom a pid in it belongs
/// to is for the lock to say, not the file: readers should check with `flock` or hostctl.
class PidFile {
public:
    static PidFile acquire(const std::string& path, const TrustedOwners& owners = TrustedOwners::current());
        /// Opens path (created 0644; links are refused), locks it and writes the pid.
        /// Throws StartupError: kExitConfig if the directory or an existing file breaks the
        /// rules above, kExitOsError "hostd already running (pid N, pidfile FILE)" if another
        /// process holds the lock, or for a system error.

    static std::string refusal(const std::string& path, const TrustedOwners& owners);
        /// For --check-config: why acquire() would refuse path by the rules above, or empty.

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
    PidFile(std::string path, UniqueFd dir, UniqueFd fd)
        : _path(std::move(path)), _dir(std::move(dir)), _fd(std::move(fd)), _lockWatch(_fd.get(), "the pidfile's lock") {}
    void release() noexcept;
    bool stillNamed() const;

    std::string _path;
    UniqueFd _dir;  // the checked directory: the name is looked up, and removed, relative to it
    UniqueFd _fd;
    HostFds::Watched _lockWatch;  // closing _fd would let a second hostd start beside this one
};

}  // namespace hostd
