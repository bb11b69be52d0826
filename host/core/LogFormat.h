#pragma once

#include "Log.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace hostd {

/// How a log line is written ([hostd] log_format).
enum class LogFormat {
    Text,     ///< "TIME LEVEL hostd: message key=value src=FILE:LINE"
    Json,     ///< One JSON object per line.
    Journal,  ///< "<N>" (the syslog priority) and the text line without its time: journald
              ///< stamps lines itself and reads N as the priority (sd-daemon(3)).
};

std::optional<LogFormat> parseLogFormat(std::string_view name);
    /// "text", "json", "journal"; anything else (including "auto") is nothing.

std::string_view logFormatName(LogFormat format);

/// One log line before formatting. Views only: valid for the duration of the call.
struct LogRecord {
    std::int64_t epochMicros = 0;   ///< Wall-clock time, microseconds since the epoch.
    Level level = Level::Info;
    std::string_view plugin;         ///< Empty for a line about the host only.
    std::string_view message;
    std::span<const LogField> fields;
    const char* file = nullptr;      ///< Host source location; nullptr for plugins' own lines.
    int line = 0;
};

std::int64_t nowEpochMicros();

void formatLogLine(std::string& out, LogFormat format, const LogRecord& record, bool withTime = true);
    /// Appends the line, terminated by '\n'. withTime = false leaves the time out of text
    /// lines (syslog and journald stamp lines themselves); JSON always carries it. Untrusted
    /// text (plugins' messages) can neither break a line in two nor make the JSON invalid:
    /// control characters are escaped and invalid UTF-8 becomes U+FFFD.

void appendTimestamp(std::string& out, std::int64_t epochMicros);
    /// RFC 3339 in UTC with microseconds: 2026-01-31T23:59:59.123456Z

void appendJsonString(std::string& out, std::string_view text);
    /// A JSON string literal (quotes included), valid UTF-8 whatever text holds.

}  // namespace hostd
