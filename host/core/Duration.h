#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace hostd {

using Millis = std::chrono::milliseconds;

std::optional<Millis> parseDuration(std::string_view text);
    /// Parses "250ms", "10s", "2m" or a bare number of seconds. Returns nothing for
    /// anything else (empty, negative, fractional, unknown suffix, overflow).

std::string formatDuration(Millis d);
    /// Formats as the shortest exact form: "250ms", "10s", "2m".

std::optional<bool> parseBool(std::string_view text);
    /// true/yes/on/1 and false/no/off/0.

}  // namespace hostd
