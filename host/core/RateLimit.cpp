#include "RateLimit.h"

namespace hostd {

bool RateLimit::allow(Clock::time_point now) {
    if (now >= _windowEnd && _heldBack == 0) {
        _windowEnd = now + _interval;
        return true;
    }
    ++_heldBack;
    return false;
}

std::optional<Clock::time_point> RateLimit::due() const {
    if (_heldBack == 0) return std::nullopt;
    return _windowEnd;
}

int RateLimit::takeHeldBack(Clock::time_point now) {
    if (_heldBack == 0 || now < _windowEnd) return 0;
    _windowEnd = now + _interval;  // the report is this interval's line
    int n = _heldBack;
    _heldBack = 0;
    return n;
}

}  // namespace hostd
