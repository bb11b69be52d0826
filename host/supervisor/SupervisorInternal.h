#pragma once
// Helpers shared by the Supervisor's implementation files.

#include "EventLoop.h"

#include <string>
#include <vector>

namespace hostd::detail {

inline double millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

inline std::string joined(const std::vector<std::string>& items, const char* sep = ", ") {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
    return out;
}

}  // namespace hostd::detail
