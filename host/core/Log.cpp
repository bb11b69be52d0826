#include "Log.h"

#include "LogOutput.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <utility>
#include <cstdio>
#include <mutex>

namespace hostd {

namespace {

std::atomic<int> gLevel{static_cast<int>(Level::Info)};

/// One plugin's allowance of lines: refilled at its rate, a second's worth at most.
struct LineAllowance {
    double lines = 0;
    std::chrono::steady_clock::time_point updated{};
    std::uint64_t suppressed = 0;  // since the last line that passed
};
std::mutex gRateMutex;
int gDefaultRate = 10000;
std::map<std::string, int, std::less<>> gRates;
std::map<std::string, LineAllowance, std::less<>> gAllowances;
std::atomic<std::uint64_t> gSuppressed{0};

/// Whether a line of plugin may be written now; how many were dropped before it, in held.
bool takeLine(std::string_view plugin, std::uint64_t& held) {
    std::lock_guard<std::mutex> lock(gRateMutex);
    auto rateIt = gRates.find(plugin);
    int rate = rateIt != gRates.end() ? rateIt->second : gDefaultRate;
    if (rate <= 0) return true;
    auto now = std::chrono::steady_clock::now();
    auto [it, added] = gAllowances.try_emplace(std::string(plugin), LineAllowance{static_cast<double>(rate), now, 0});
    LineAllowance& a = it->second;
    double seconds = std::chrono::duration<double>(now - a.updated).count();
    a.lines = std::min<double>(rate, a.lines + seconds * rate);
    a.updated = now;
    if (a.lines < 1) {
        ++a.suppressed;
        gSuppressed.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    a.lines -= 1;
    held = std::exchange(a.suppressed, 0);
    return true;
}
std::mutex gPluginLevelsMutex;
std::map<std::string, Level, std::less<>> gPluginLevels;

}  // namespace

std::optional<Level> parseLevel(std::string_view name) {
    if (name == "error") return Level::Error;
    if (name == "warning") return Level::Warning;
    if (name == "notice") return Level::Notice;
    if (name == "info" || name == "information") return Level::Info;
    if (name == "debug") return Level::Debug;
    return std::nullopt;
}

std::string_view levelName(Level level) {
    switch (level) {
    case Level::Error: return "error";
    case Level::Warning: return "warning";
    case Level::Notice: return "notice";
    case Level::Info: return "info";
    case Level::Debug: return "debug";
    }
    return "info";
}

void Log::setLevel(Level level) { gLevel.store(static_cast<int>(level)); }

Level Log::level() { return static_cast<Level>(gLevel.load()); }

void Log::setPluginLevels(std::map<std::string, Level, std::less<>> levels) {
    std::lock_guard<std::mutex> lock(gPluginLevelsMutex);
    gPluginLevels = std::move(levels);
}

void Log::setPluginLevel(std::string_view plugin, std::optional<Level> level) {
    std::lock_guard<std::mutex> lock(gPluginLevelsMutex);
    if (level)
        gPluginLevels.insert_or_assign(std::string(plugin), *level);
    else if (auto it = gPluginLevels.find(plugin); it != gPluginLevels.end())
        gPluginLevels.erase(it);
}

bool Log::pluginEnabled(std::string_view plugin, Level level) {
    std::lock_guard<std::mutex> lock(gPluginLevelsMutex);
    auto it = gPluginLevels.find(plugin);
    Level limit = it != gPluginLevels.end() ? it->second : Log::level();
    return static_cast<int>(level) <= static_cast<int>(limit);
}

void Log::write(Level level, std::string_view plugin, std::string_view message, std::initializer_list<LogField> fields,
                const char* file, int line) {
    if (enabled(level)) writeUnfiltered(level, plugin, message, fields, file, line);
}

void Log::writeUnfiltered(Level level, std::string_view plugin, std::string_view message,
                          std::initializer_list<LogField> fields, const char* file, int line) {
    LogOutput::write({nowEpochMicros(), level, plugin, message, {fields.begin(), fields.size()}, file, line});
}

void Log::audit(std::string_view plugin, std::string_view message, std::initializer_list<LogField> fields, const char* file,
                int line) {
    writeUnfiltered(Level::Notice, plugin, message, fields, file, line);
}

void Log::setPluginRateLimits(int linesPerSecond, std::map<std::string, int, std::less<>> perPlugin) {
    std::lock_guard<std::mutex> lock(gRateMutex);
    gDefaultRate = linesPerSecond;
    gRates = std::move(perPlugin);
}

std::uint64_t Log::suppressedLines() { return gSuppressed.load(std::memory_order_relaxed); }

void Log::writePluginLine(Level level, std::string_view plugin, std::string_view message) {
    if (!pluginEnabled(plugin, level)) return;
    std::uint64_t held = 0;
    if (!takeLine(plugin, held)) return;
    if (held > 0)
        writeUnfiltered(Level::Warning, plugin, "plugin lines suppressed: more than log_rate_limit a second",
                        {{"suppressed", std::to_string(held)}}, nullptr, 0);
    writeUnfiltered(level, plugin, message, {{"from", "plugin"}}, nullptr, 0);
}

std::string ms(double milliseconds) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", milliseconds);
    return buf;
}

}  // namespace hostd
