#pragma once

#include <functional>
#include <initializer_list>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace hostd {

/// Log levels; numerically the syslog priorities (and hostd_type_log_level).
enum class Level { Error = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7 };

std::optional<Level> parseLevel(std::string_view name);
    /// "error", "warning", "notice", "info" (or "information"), "debug".

std::string_view levelName(Level level);

/// A structured field of a log line.
struct LogField {
    std::string_view key;
    std::string value;
};

/// The host's log: every line has a time, a level, the subject (the plugin, or "hostd"),
/// a message and structured fields; LogOutput (LogOutput.h) formats and writes it as
/// [hostd] log_format and log_target say. Thread-safe.
class Log {
public:
    static void setLevel(Level level);
    static Level level();
    static bool enabled(Level level) { return static_cast<int>(level) <= static_cast<int>(Log::level()); }

    static void setPluginLevels(std::map<std::string, Level, std::less<>> levels);
        /// Filters for plugins' own lines (log_level in [plugin.NAME]); a plugin not listed
        /// follows the host's level. Replaces every previous filter.

    static void setPluginLevel(std::string_view plugin, std::optional<Level> level);
        /// Sets (or with nullopt clears) one plugin's filter, e.g. from hostctl log-level.

    static void setPluginRateLimits(int linesPerSecond, std::map<std::string, int, std::less<>> perPlugin);
        /// A plugin's own lines per second (a burst of as many), for every plugin and for those
        /// named; 0: no limit. Lines over it are dropped, and the next line that passes is
        /// preceded by one saying how many were.

    static std::uint64_t suppressedLines();
        /// Plugin lines dropped by the rate limits since start.

    static bool pluginEnabled(std::string_view plugin, Level level);
        /// True if a line of the plugin's own at this level passes its filter.

    static void write(Level level, std::string_view plugin, std::string_view message,
                      std::initializer_list<LogField> fields, const char* file = nullptr, int line = 0);
        /// Writes one line; plugin is empty for host lines.

    static void audit(std::string_view plugin, std::string_view message, std::initializer_list<LogField> fields,
                      const char* file = nullptr, int line = 0);
        /// A line that records who did what to hostd (state-changing hostctl commands, refused
        /// peers): written at Notice whatever the log level, so that a peer allowed to lower
        /// the level cannot hide what it does next.

    static void writePluginLine(Level level, std::string_view plugin, std::string_view message);
        /// A line logged by a plugin itself through the services table, filtered by the
        /// plugin's level.

private:
    static void writeUnfiltered(Level level, std::string_view plugin, std::string_view message,
                                std::initializer_list<LogField> fields, const char* file, int line);
};

std::string ms(double milliseconds);
    /// Formats a duration field value in milliseconds with 3 decimals.

}  // namespace hostd

/// An audit line (Log::audit): never filtered.
#define HOSTD_AUDIT(plugin, message, ...) ::hostd::Log::audit(plugin, message, {__VA_ARGS__}, __FILE_NAME__, __LINE__)

/// Builds the message and fields only if the line passes the host's level: a filtered debug or
/// info line costs one comparison, not its strings.
#define HOSTD_LOG(level, plugin, message, ...)                                                            \
    do {                                                                                                  \
        if (::hostd::Log::enabled(::hostd::Level::level))                                                \
            ::hostd::Log::write(::hostd::Level::level, plugin, message, {__VA_ARGS__}, __FILE_NAME__, __LINE__); \
    } while (false)
