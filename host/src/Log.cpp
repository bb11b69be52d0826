#include "Log.h"

#include <Poco/ConsoleChannel.h>
#include <Poco/Message.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <sys/time.h>

namespace hostd {

namespace {

std::atomic<int> gLevel{static_cast<int>(Level::Info)};
std::mutex gChannelMutex;
Poco::AutoPtr<Poco::Channel> gChannel;
std::mutex gPluginLevelsMutex;
std::map<std::string, Level, std::less<>> gPluginLevels;

Poco::Message::Priority toPoco(Level level) {
    switch (level) {
    case Level::Error: return Poco::Message::PRIO_ERROR;
    case Level::Warning: return Poco::Message::PRIO_WARNING;
    case Level::Notice: return Poco::Message::PRIO_NOTICE;
    case Level::Info: return Poco::Message::PRIO_INFORMATION;
    case Level::Debug: return Poco::Message::PRIO_DEBUG;
    }
    return Poco::Message::PRIO_INFORMATION;
}

std::string timestamp() {
    struct timeval tv;
    gettimeofday(&tv, nullptr);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long>(tv.tv_usec));
    return buf;
}

bool needsQuotes(std::string_view v) {
    if (v.empty()) return true;
    for (char c : v)
        if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return true;
    return false;
}

void appendValue(std::string& out, std::string_view v) {
    if (!needsQuotes(v)) {
        out += v;
        return;
    }
    out += '"';
    for (char c : v) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
            out += buf;
        } else {
            out += c;
        }
    }
    out += '"';
}

/// Makes text safe for one log line: control characters (a plugin's message may carry
/// newlines or escape sequences) are escaped so that one call is always one line.
void appendText(std::string& out, std::string_view text) {
    for (char c : text) {
        if (c == '\n')
            out += "\\n";
        else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
            out += buf;
        } else
            out += c;
    }
}

void emit(Level level, std::string line) {
    std::lock_guard<std::mutex> lock(gChannelMutex);
    if (!gChannel) gChannel = new Poco::ConsoleChannel;
    Poco::Message msg("hostd", std::move(line), toPoco(level));
    gChannel->log(msg);
}

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

void Log::setChannel(Poco::AutoPtr<Poco::Channel> channel) {
    std::lock_guard<std::mutex> lock(gChannelMutex);
    gChannel = std::move(channel);
}

void Log::write(Level level, std::string_view plugin, std::string_view message, std::initializer_list<LogField> fields,
                const char* file, int line) {
    if (enabled(level)) writeUnfiltered(level, plugin, message, fields, file, line);
}

void Log::writeUnfiltered(Level level, std::string_view plugin, std::string_view message,
                          std::initializer_list<LogField> fields, const char* file, int line) {
    std::string out = timestamp();
    out += ' ';
    out += levelName(level);
    out += ' ';
    if (plugin.empty())
        out += "hostd";
    else {
        out += "plugin=";
        out += plugin;
    }
    out += ": ";
    appendText(out, message);
    for (const auto& f : fields) {
        out += ' ';
        out += f.key;
        out += '=';
        appendValue(out, f.value);
    }
    if (file != nullptr) {
        out += " src=";
        out += file;
        out += ':';
        out += std::to_string(line);
    }
    emit(level, std::move(out));
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
