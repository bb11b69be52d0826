#include "Notifier.h"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace hostd {

namespace {

std::function<void()>& readinessHook() {
    static std::function<void()> hook;
    return hook;
}

/// Reads a decimal environment variable and unsets it.
std::optional<long long> takeNumber(const char* name) {
    const char* env = std::getenv(name);
    if (env == nullptr) return std::nullopt;
    std::string_view text(env);
    long long n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    ::unsetenv(name);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return n;
}

long long micros(Clock::duration d) { return std::chrono::duration_cast<std::chrono::microseconds>(d).count(); }

}  // namespace

Notifier::Notifier() {
    auto watchdogUsec = takeNumber("WATCHDOG_USEC");
    auto watchdogPid = takeNumber("WATCHDOG_PID");
    const char* env = std::getenv("NOTIFY_SOCKET");
    if (env == nullptr || (env[0] != '/' && env[0] != '@') || std::strlen(env) >= sizeof(sockaddr_un::sun_path)) return;
    _address = env;
    ::unsetenv("NOTIFY_SOCKET");
    _fd.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    _watch = HostFds::Watched(_fd.get(), "the service manager's notify socket");
    // The manager sets WATCHDOG_PID to the process it watches: a child that inherited the
    // environment (hostd started by a watched process) must not ping on its behalf.
    if (watchdogUsec && *watchdogUsec > 0 && (!watchdogPid || *watchdogPid == ::getpid())) {
        _watchdogInterval = std::chrono::microseconds(*watchdogUsec);
        _nextWatchdog = Clock::now() + *_watchdogInterval / 2;
    }
}

void Notifier::send(std::string_view state) const {
    if (!enabled() || !_fd) return;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, _address.data(), _address.size());
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + _address.size());
    if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
    ::sendto(_fd.get(), state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), len);
}

void Notifier::ready(std::string_view status) const {
    send("READY=1\nSTATUS=" + std::string(status));
    if (auto hook = std::exchange(readinessHook(), nullptr)) hook();
}

void Notifier::reloading() const {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long usec = static_cast<long long>(ts.tv_sec) * 1000000LL + ts.tv_nsec / 1000;
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void Notifier::stopping(std::string_view status) const { send("STOPPING=1\nSTATUS=" + std::string(status)); }

void Notifier::status(std::string_view status) const { send("STATUS=" + std::string(status)); }

std::optional<Clock::duration> Notifier::watchdogInterval() const noexcept { return _watchdogInterval; }

void Notifier::extendTimeoutUntil(Clock::time_point deadline, Clock::time_point now) {
    if (!enabled() || deadline <= now) return;
    _extendUntil = deadline;
    _nextExtension = now;
}

void Notifier::extendStartupUntil(Clock::time_point deadline, Clock::time_point now) {
    if (!enabled() || deadline <= now) return;
    _extendUntil = std::max(_extendUntil, deadline);
    _nextExtension = std::min(_nextExtension, now + kExtendStep);
}

void Notifier::cancelExtension() noexcept {
    _extendUntil = Clock::time_point::min();
    _nextExtension = Clock::time_point::max();
}

std::optional<Clock::time_point> Notifier::nextDue() const noexcept {
    Clock::time_point next = std::min(_nextWatchdog, _nextExtension);
    if (next == Clock::time_point::max()) return std::nullopt;
    return next;
}

void Notifier::sendDue(Clock::time_point now) {
    if (now >= _nextWatchdog) {
        send("WATCHDOG=1");
        // From now, not from when it was due: after a stall, one ping, not a burst.
        _nextWatchdog = now + *_watchdogInterval / 2;
    }
    if (now >= _nextExtension) {
        if (now >= _extendUntil) {
            _nextExtension = Clock::time_point::max();  // past the deadline the drain ends on its own
        } else {
            // Enough to reach the next message, or the deadline, plus a step of slack so that
            // hostd's own deadline fires first and hostd, not a SIGKILL, reports the outcome.
            Clock::duration cover = std::min(kExtendStep, _extendUntil - now) + kExtendStep;
            send("EXTEND_TIMEOUT_USEC=" + std::to_string(micros(cover)));
            _nextExtension = now + kExtendStep;
        }
    }
}

void Notifier::setReadinessHook(std::function<void()> hook) { readinessHook() = std::move(hook); }

}  // namespace hostd
