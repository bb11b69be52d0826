#pragma once

#include "EventLoop.h"

#include <optional>

namespace hostd {

/// At most one event per interval goes through; the others are counted, to be reported once the
/// interval is over. For log lines that a peer can provoke at will (refused connections): a
/// flood costs one line a second, and nothing that happened is hidden. Not thread-safe.
class RateLimit {
public:
    explicit RateLimit(Clock::duration interval = std::chrono::seconds(1)) : _interval(interval) {}

    bool allow(Clock::time_point now);
        /// True if this event may be reported now; else it is counted.

    std::optional<Clock::time_point> due() const;
        /// When the count of events held back should be reported, if there are any.

    int takeHeldBack(Clock::time_point now);
        /// The events held back, if due() has come (then zero again), else 0.

private:
    Clock::duration _interval;
    Clock::time_point _windowEnd = Clock::time_point::min();
    int _heldBack = 0;
};

}  // namespace hostd
