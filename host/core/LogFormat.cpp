#include "LogFormat.h"

#include <charconv>
#include <ctime>

namespace hostd {

namespace {

/// Json: a JSON string's contents. Text: a text line's message (quotes and backslashes as
/// they are). QuotedText: a text value inside double quotes.
enum class Escape { Json, Text, QuotedText };

constexpr char kHex[] = "0123456789abcdef";

/// Length of the valid UTF-8 sequence at the start of s (2 to 4), or 0 if it is not one:
/// overlong forms, surrogates and code points above U+10FFFF are invalid (RFC 3629).
std::size_t utf8SequenceLength(std::string_view s) {
    auto byte = [&](std::size_t i) { return i < s.size() ? static_cast<unsigned char>(s[i]) : 0u; };
    auto cont = [&](std::size_t i) { return (byte(i) & 0xC0u) == 0x80u; };
    unsigned b0 = byte(0);
    if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? 2 : 0;
    if (b0 >= 0xE0 && b0 <= 0xEF) {
        unsigned lo = b0 == 0xE0 ? 0xA0 : 0x80, hi = b0 == 0xED ? 0x9F : 0xBF;
        return byte(1) >= lo && byte(1) <= hi && cont(2) ? 3 : 0;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
        unsigned lo = b0 == 0xF0 ? 0x90 : 0x80, hi = b0 == 0xF4 ? 0x8F : 0xBF;
        return byte(1) >= lo && byte(1) <= hi && cont(2) && cont(3) ? 4 : 0;
    }
    return 0;
}

void appendHexByte(std::string& out, const char* prefix, unsigned char c) {
    out += prefix;
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
}

/// Appends text escaped for a JSON string or a text log line: one call is one line whatever
/// the text holds, and the result is valid UTF-8.
void appendEscaped(std::string& out, std::string_view text, Escape mode) {
    std::size_t i = 0;
    while (i < text.size()) {
        // Copy the longest run that needs nothing: the common case is plain ASCII.
        std::size_t run = i;
        while (run < text.size()) {
            auto c = static_cast<unsigned char>(text[run]);
            if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') break;
            ++run;
        }
        out.append(text.data() + i, run - i);
        if (run == text.size()) return;
        i = run;
        auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x80) {
            if (std::size_t n = utf8SequenceLength(text.substr(i))) {
                out.append(text.data() + i, n);
                i += n;
            } else {
                // Text keeps the byte visible; JSON has no way to carry it.
                if (mode == Escape::Json)
                    out += "\\ufffd";
                else
                    appendHexByte(out, "\\x", c);
                ++i;
            }
            continue;
        }
        ++i;
        if (c == '\n') {
            out += "\\n";
        } else if (c == '"' || c == '\\') {
            if (mode != Escape::Text) out += '\\';
            out += static_cast<char>(c);
        } else if (mode != Escape::Json) {
            appendHexByte(out, "\\x", c);
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == 0x7F) {
            out += static_cast<char>(c);  // valid in a JSON string
        } else {
            appendHexByte(out, "\\u00", c);
        }
    }
}

bool needsQuotes(std::string_view v) {
    if (v.empty()) return true;
    for (char c : v)
        if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20 ||
            static_cast<unsigned char>(c) >= 0x7F)
            return true;
    return false;
}

void appendTextValue(std::string& out, std::string_view v) {
    if (!needsQuotes(v)) {
        out += v;
        return;
    }
    out += '"';
    appendEscaped(out, v, Escape::QuotedText);
    out += '"';
}

void appendInt(std::string& out, long long value) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, end);
}

/// JSON members the line itself uses; a structured field of the same name gets a '_' prefix
/// rather than a duplicate key.
bool reservedJsonKey(std::string_view key) {
    return key == "time" || key == "level" || key == "message" || key == "plugin" || key == "source";
}

void formatText(std::string& out, const LogRecord& r, bool withTime) {
    if (withTime) {
        appendTimestamp(out, r.epochMicros);
        out += ' ';
    }
    out += levelName(r.level);
    out += ' ';
    if (r.plugin.empty()) {
        out += "hostd";
    } else {
        out += "plugin=";
        appendEscaped(out, r.plugin, Escape::Text);
    }
    out += ": ";
    appendEscaped(out, r.message, Escape::Text);
    for (const auto& f : r.fields) {
        out += ' ';
        out += f.key;
        out += '=';
        appendTextValue(out, f.value);
    }
    if (r.file != nullptr) {
        out += " src=";
        out += r.file;
        out += ':';
        appendInt(out, r.line);
    }
    out += '\n';
}

void formatJson(std::string& out, const LogRecord& r) {
    out += "{\"time\":\"";
    appendTimestamp(out, r.epochMicros);
    out += "\",\"level\":\"";
    out += levelName(r.level);
    out += '"';
    if (!r.plugin.empty()) {
        out += ",\"plugin\":";
        appendJsonString(out, r.plugin);
    }
    out += ",\"message\":";
    appendJsonString(out, r.message);
    for (const auto& f : r.fields) {
        out += ',';
        if (reservedJsonKey(f.key)) {
            std::string key = "_";
            key += f.key;
            appendJsonString(out, key);
        } else {
            appendJsonString(out, f.key);
        }
        out += ':';
        appendJsonString(out, f.value);
    }
    if (r.file != nullptr) {
        out += ",\"source\":\"";
        appendEscaped(out, r.file, Escape::Json);
        out += ':';
        appendInt(out, r.line);
        out += '"';
    }
    out += "}\n";
}

}  // namespace

std::optional<LogFormat> parseLogFormat(std::string_view name) {
    if (name == "text") return LogFormat::Text;
    if (name == "json") return LogFormat::Json;
    if (name == "journal") return LogFormat::Journal;
    return std::nullopt;
}

std::string_view logFormatName(LogFormat format) {
    switch (format) {
    case LogFormat::Text: return "text";
    case LogFormat::Json: return "json";
    case LogFormat::Journal: return "journal";
    }
    return "text";
}

std::int64_t nowEpochMicros() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

void appendTimestamp(std::string& out, std::int64_t epochMicros) {
    std::int64_t seconds = epochMicros / 1000000, micros = epochMicros % 1000000;
    if (micros < 0) {
        micros += 1000000;
        --seconds;
    }
    time_t t = static_cast<time_t>(seconds);
    struct tm tm {};
    gmtime_r(&t, &tm);
    // Fixed width: YYYY-MM-DDTHH:MM:SS.uuuuuuZ, digits written in place.
    char buf[28];
    auto put = [&](int at, long value, int width) {
        for (int i = width - 1; i >= 0; --i, value /= 10) buf[at + i] = static_cast<char>('0' + value % 10);
    };
    put(0, tm.tm_year + 1900, 4);
    buf[4] = '-';
    put(5, tm.tm_mon + 1, 2);
    buf[7] = '-';
    put(8, tm.tm_mday, 2);
    buf[10] = 'T';
    put(11, tm.tm_hour, 2);
    buf[13] = ':';
    put(14, tm.tm_min, 2);
    buf[16] = ':';
    put(17, tm.tm_sec, 2);
    buf[19] = '.';
    put(20, static_cast<long>(micros), 6);
    buf[26] = 'Z';
    out.append(buf, 27);
}

void appendJsonString(std::string& out, std::string_view text) {
    out += '"';
    appendEscaped(out, text, Escape::Json);
    out += '"';
}

void formatLogLine(std::string& out, LogFormat format, const LogRecord& record, bool withTime) {
    switch (format) {
    case LogFormat::Json:
        formatJson(out, record);
        return;
    case LogFormat::Journal:
        out += '<';
        appendInt(out, static_cast<int>(record.level));
        out += '>';
        formatText(out, record, false);
        return;
    case LogFormat::Text:
        formatText(out, record, withTime);
        return;
    }
}

}  // namespace hostd
