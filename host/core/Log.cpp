#include "Log.h"

#include "LogOutput.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace hostd {

namespace {

std::atomic<int> gLevel{static_cast<int>(Level::Info)};
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

void Log::writePluginLine(Level level, std::string_view plugin, std::string_view message) {
    if (!pluginEnabled(plugin, level)) return;
    writeUnfiltered(level, plugin, message, {{"from", "plugin"}}, nullptr, 0);
}

std::string ms(double milliseconds) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", milliseconds);
    return buf;
}

}  // namespace hostd
