// WakeUpEvent: lets one thread interrupt another thread's poll(), without a timeout.
#pragma once

#include <cerrno>
#include <cstdint>
#include <system_error>

#include <sys/eventfd.h>
#include <unistd.h>

/// An eventfd that another thread signals to interrupt the event thread's poll().
class WakeUpEvent {
public:
    WakeUpEvent() : _fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
        if (_fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    }
    ~WakeUpEvent() { ::close(_fd); }
    WakeUpEvent(const WakeUpEvent&) = delete;
    WakeUpEvent& operator=(const WakeUpEvent&) = delete;

    int fd() const noexcept { return _fd; }
        /// Poll it for POLLIN.

    void signal() noexcept {
        std::uint64_t one = 1;
        // Fails only if the counter is saturated, and then the eventfd is readable anyway.
        [[maybe_unused]] ssize_t written = ::write(_fd, &one, sizeof one);
    }
        /// Makes the eventfd readable, waking a poll() on it; safe from any thread.

    void clear() noexcept {
        std::uint64_t count = 0;
        [[maybe_unused]] ssize_t read = ::read(_fd, &count, sizeof count);
    }
        /// Makes the eventfd unreadable again, so the next poll() sleeps.

private:
    int _fd;
};
