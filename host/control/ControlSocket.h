#pragma once

#include "HostFds.h"
#include "TrustedPath.h"
#include "UniqueFd.h"

#include <optional>
#include <string>
#include <sys/types.h>

namespace hostd {

/// The listening end of hostctl's unix socket (`control_socket`), as a file-system object:
/// the checks on its directory, the take-over of a socket file left by a killed hostd, the
/// creation with mode 0660, and its removal when hostd exits. What is said over it is
/// ControlServer's business.
///
/// The directory rule: it must exist and pass the trust rules (TrustedPath.h): owned by root or
/// hostd's user, not a symbolic link, not group- or world-writable, not even with the sticky
/// bit, and so every directory above it (sticky ones allowed). Otherwise another user could
/// bind the name first, or swap the socket for their own, and collect the commands of root's
/// hostctl.
class ControlSocket {
public:
    static constexpr const char* kDefaultPath = "/run/hostd/control.sock";

    static std::optional<ControlSocket> open(const std::string& path, bool explicitlySet, const TrustedOwners& owners,
                                             std::optional<gid_t> group = std::nullopt);
        /// Creates and listens on path (non-blocking, close-on-exec), mode 0660, its group set
        /// to group if given (so that its members can connect). If path's directory does
        /// not exist and the path was not set explicitly (the default /run/hostd exists only
        /// under systemd's RuntimeDirectory=), logs a warning and returns nothing. A socket
        /// file nobody listens on is removed and replaced.
        /// Throws StartupError: kExitConfig for a missing (explicitly set) or untrustworthy
        /// directory or a path that is not a socket; kExitOsError if another process listens
        /// on path ("another hostd is listening on PATH") or a system call fails.

    static std::string directoryRefusal(const std::string& path, const TrustedOwners& owners);
        /// For --check-config: why open() would refuse path's directory, or empty (also when
        /// it does not exist).

    ControlSocket(ControlSocket&& other) noexcept;
    ControlSocket& operator=(ControlSocket&& other) noexcept;
    ControlSocket(const ControlSocket&) = delete;
    ~ControlSocket();
        /// Removes the socket file, if it is still the one this object created.

    int fd() const noexcept { return _fd.get(); }
    const std::string& path() const noexcept { return _path; }

private:
    void removeFile() noexcept;
    ControlSocket(UniqueFd fd, std::string path, dev_t dev, ino_t ino);

    UniqueFd _fd;
    HostFds::Watched _watch;  // after _fd: forgotten before it closes
    std::string _path;
    dev_t _dev = 0;
    ino_t _ino = 0;
};

}  // namespace hostd
