#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hostd::check {

/// A plugin's configuration section as hostd would pass it, read from a small INI file: the
/// author's test configuration or the hostd.conf.d/NAME.conf drop-in they ship.
struct PluginSection {
    std::vector<std::pair<std::string, std::string>> entries;  ///< Plugin keys, in file order, unique.
    std::optional<std::chrono::milliseconds> startTimeout;     ///< The host key start_timeout, if set.
    std::optional<std::chrono::milliseconds> reloadTimeout;    ///< The host key reload_timeout, if set.
    std::optional<std::chrono::milliseconds> stopTimeout;      ///< The host key stop_timeout, if set.
};

/// A line of the section file is invalid; the message is "FILE:LINE: what".
class SectionError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

PluginSection readSection(const std::string& path, const std::string& pluginName);
    /// Reads `key = value` lines (blank lines and lines starting with # or ; are comments).
    /// Keys before any [section] header belong to the plugin; after headers, only the keys of
    /// [plugin.NAME] do, other sections are ignored, so a whole hostd.conf works too. Host keys
    /// (enabled, requires, *_timeout, restart, sha256, log_level) are not passed to the plugin,
    /// as in hostd. Throws SectionError.

std::optional<std::chrono::milliseconds> parseDuration(std::string_view text);
    /// "500ms", "10s", "2m" or a bare number of seconds, as in hostd.conf; nothing if invalid.

}  // namespace hostd::check
