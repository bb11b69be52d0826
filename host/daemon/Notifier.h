#pragma once

#include "EventLoop.h"
#include "HostFds.h"
#include "UniqueFd.h"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace hostd {

/// sd_notify without libsystemd (DESIGN.md section 6): datagrams to $NOTIFY_SOCKET (a path, or
/// "@name" for an abstract socket). Does nothing when NOTIFY_SOCKET is unset.
///
/// Two messages are timed: WATCHDOG=1 (every WATCHDOG_USEC/2) and EXTEND_TIMEOUT_USEC (while
/// a long startup or drain is within its budget). Both are sent only by sendDue(), which the
/// main loop calls after every wake-up, never a timer thread: a ping then means "the main loop
/// turns", and a stuck loop stops them, so the manager notices. The loop's wait must not outlast
/// nextDue().
class Notifier {
public:
    Notifier();
        /// Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID once, then unsets them so
        /// plugins' child processes do not inherit them. The watchdog is armed if
        /// WATCHDOG_USEC is set and WATCHDOG_PID, if set, is this process.

    bool enabled() const noexcept { return !_address.empty(); }

    void send(std::string_view state) const;
        /// Sends one datagram, e.g. "READY=1\nSTATUS=running 3 plugins". Errors are ignored:
        /// the manager's absence must never stop the host.

    void ready(std::string_view status) const;
        /// READY=1 with STATUS. The first ready() in the process also runs the readiness
        /// hook (setReadinessHook).
    void reloading() const;
        /// RELOADING=1 with MONOTONIC_USEC.
    void stopping(std::string_view status) const;
    void status(std::string_view status) const;

    std::optional<Clock::duration> watchdogInterval() const noexcept;
        /// WATCHDOG_USEC, if the watchdog is armed.

    void extendTimeoutUntil(Clock::time_point deadline, Clock::time_point now = Clock::now());
        /// Keeps the manager's current timeout (TimeoutStopSec during a drain) from cutting
        /// short work due to end by deadline: sendDue() sends EXTEND_TIMEOUT_USEC now and then
        /// every kExtendStep until deadline, each covering the time to the next message plus
        /// one step. Does nothing without NOTIFY_SOCKET.

    void extendStartupUntil(Clock::time_point deadline, Clock::time_point now = Clock::now());
        /// The same for TimeoutStartSec while start calls due to end by deadline run, but from
        /// kExtendStep on: a startup done sooner sends nothing. So, with the unit's
        /// TimeoutStartFailureMode=abort, only a main loop that stops turning (a plugin's
        /// constructor that never returns) meets the start timeout, and a slow but live startup
        /// never does. Later calls only lengthen the extension.
    void cancelExtension() noexcept;
        /// Stops extending: READY=1 was sent.

    std::optional<Clock::time_point> nextDue() const noexcept;
        /// When sendDue() next has something to send; nothing if neither message is armed.

    void sendDue(Clock::time_point now = Clock::now());
        /// Sends WATCHDOG=1 and EXTEND_TIMEOUT_USEC if due at now, and schedules the next.

    static void setReadinessHook(std::function<void()> hook);
        /// Runs hook at the next ready() of any Notifier in this process, once; an empty
        /// function clears it. --daemon uses it to release the invoking process (Daemon.h)
        /// at exactly the point where READY=1 is sent. Main thread only.

    static constexpr Clock::duration kExtendStep = std::chrono::seconds(5);

private:
    std::string _address;
    UniqueFd _fd;
    HostFds::Watched _watch;  // after _fd: forgotten before it closes
    std::optional<Clock::duration> _watchdogInterval;
    Clock::time_point _nextWatchdog = Clock::time_point::max();
    Clock::time_point _nextExtension = Clock::time_point::max();
    Clock::time_point _extendUntil = Clock::time_point::min();
};

}  // namespace hostd
