#pragma once

#include <optional>
#include <string>

namespace hostd {

/// The descriptors hostd cannot do without (its epoll, signalfd, completion eventfds, inotify),
/// remembered by what they refer to, so that one a plugin closed or replaced (plugin.h: never
/// touch descriptors you did not open) is noticed as soon as the call that did it returns,
/// instead of as a hang or an error blamed on whoever comes next. Thread-safe.
namespace HostFds {

void watch(int fd, const char* what);
    /// Remembers fd (for the log: what) as it is now.
void forget(int fd);
    /// Before hostd closes it itself.

struct Broken {
    int fd;
    std::string what;
};
std::optional<Broken> check();
    /// The first watched descriptor that is closed or no longer the file it was, if any.

const char* watched(int fd) noexcept;
    /// What fd is, if hostd's process (not a child forked from it) watches it; else nullptr.
    /// For the close() and dup2() hostd's executable puts before libc's (app/FdGuard.cpp).

/// watch() for the life of the object; movable like the descriptor it watches.
class Watched {
public:
    Watched() = default;
    Watched(int fd, const char* what) : _fd(fd) { watch(fd, what); }
    Watched(Watched&& other) noexcept : _fd(other._fd) { other._fd = -1; }
    Watched& operator=(Watched&& other) noexcept;
    Watched(const Watched&) = delete;
    Watched& operator=(const Watched&) = delete;
    ~Watched() {
        if (_fd >= 0) forget(_fd);
    }

private:
    int _fd = -1;
};

}  // namespace HostFds

}  // namespace hostd
