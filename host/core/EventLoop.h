#pragma once

#include "HostFds.h"
#include "UniqueFd.h"

#include <chrono>
#include <functional>
#include <map>
#include <optional>

namespace hostd {

using Clock = std::chrono::steady_clock;

/// A single-threaded epoll loop. No timers of its own: the caller passes the next deadline,
/// so an idle host with nothing due sleeps in epoll_wait without waking up.
class EventLoop {
public:
    EventLoop();
        /// Throws std::system_error.

    void add(int fd, std::function<void()> onReadable);
        /// Calls onReadable (on the loop's thread) whenever fd is readable.

    void remove(int fd);

    void runOnce(std::optional<Clock::time_point> deadline);
        /// Waits until an fd is readable (and dispatches it) or the deadline passes.

private:
    UniqueFd _epoll;
    HostFds::Watched _epollWatch{_epoll.get(), "the event loop's epoll"};  // after _epoll: forgotten before it closes
    std::map<int, std::function<void()>> _handlers;
};

/// The signals hostd consumes, blocked in every thread from main() on (DESIGN.md section 1),
/// and forwarded to the calling (main) thread by a handler if one lands on a thread that
/// unblocked them (a plugin's): there it stays pending, blocked, until the loop reads it from
/// its signalfd. So no thread's mask can turn SIGTERM into a kill without a drain.
void blockHostSignals();

/// A signalfd for the signals blocked by blockHostSignals().
class SignalSource {
public:
    SignalSource();
        /// Throws std::system_error.
    int fd() const noexcept { return _fd.get(); }
    std::optional<int> read();
        /// The next pending signal number, or nothing.

private:
    UniqueFd _fd;
    HostFds::Watched _watch;
};

}  // namespace hostd
