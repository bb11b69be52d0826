#include "Duration.h"

#include <charconv>
#include <limits>

namespace hostd {

std::optional<Millis> parseDuration(std::string_view text) {
    long long unit = 1000;
    if (text.ends_with("ms")) {
        unit = 1;
        text.remove_suffix(2);
    } else if (text.ends_with("s")) {
        text.remove_suffix(1);
    } else if (text.ends_with("m")) {
        unit = 60 * 1000;
        text.remove_suffix(1);
    }
    if (text.empty() || text.front() == '-' || text.front() == '+') return std::nullopt;
    long long n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || n < 0) return std::nullopt;
    // Bound to ~100 years so deadline arithmetic on steady_clock can never overflow.
    constexpr long long maxMillis = 100LL * 365 * 24 * 3600 * 1000;
    if (n > maxMillis / unit) return std::nullopt;
    return Millis(n * unit);
}

std::string formatDuration(Millis d) {
    long long ms = d.count();
    if (ms != 0 && ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
    if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

std::optional<bool> parseBool(std::string_view text) {
    if (text == "true" || text == "yes" || text == "on" || text == "1") return true;
    if (text == "false" || text == "no" || text == "off" || text == "0") return false;
    return std::nullopt;
}

}  // namespace hostd
