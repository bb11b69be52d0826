#include "Report.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace hostd::check {

namespace {

/// Every check, in the order they are printed: static checks of the file first, then the
/// lifecycle as the host would run it.
constexpr std::string_view kCheckIds[] = {
    "elf",         "entry-symbol", "exported-symbols", "gnu-unique", "bind-now",     "textrel",
    "undefined-symbols", "load",   "abi-version",      "start",      "reload",       "stop",
    "threads",     "pthread-keys", "unload",           "fds",
};

std::string formatMs(const std::optional<double>& ms) {
    if (!ms) return "";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f ms", *ms);
    return buf;
}

/// Length of the valid UTF-8 sequence at text[i], or 0 if the bytes there are not one.
std::size_t utf8Length(std::string_view text, std::size_t i) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    unsigned char c = byte(i);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > text.size()) return 0;
    for (std::size_t k = 1; k < len; ++k)
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
    return len;
}

}  // namespace

std::string_view statusName(Status status) {
    switch (status) {
    case Status::Pass: return "pass";
    case Status::Warn: return "warn";
    case Status::Fail: return "fail";
    case Status::Skip: return "skip";
    }
    return "unknown";
}

Report::Report(std::string file) : _file(std::move(file)) {
    for (auto id : kCheckIds) {
        Check c;
        c.id = id;
        _checks.push_back(std::move(c));
    }
}

Check& Report::find(std::string_view id) {
    auto it = std::find_if(_checks.begin(), _checks.end(), [&](const Check& c) { return c.id == id; });
    if (it == _checks.end()) throw std::logic_error("unknown check id " + std::string(id));
    return *it;
}

void Report::set(std::string_view id, Status status, std::string reason, std::optional<double> ms) {
    Check& c = find(id);
    c.status = status;
    c.reason = std::move(reason);
    c.milliseconds = ms;
    c.done = true;
}

bool Report::done(std::string_view id) const {
    return std::any_of(_checks.begin(), _checks.end(), [&](const Check& c) { return c.id == id && c.done; });
}

void Report::skipPending(const std::string& reason) {
    for (Check& c : _checks)
        if (!c.done) set(c.id, Status::Skip, reason);
}

bool Report::failed(bool strict) const {
    return std::any_of(_checks.begin(), _checks.end(), [&](const Check& c) {
        return c.status == Status::Fail || (strict && c.status == Status::Warn);
    });
}

void Report::printText(std::ostream& out) const {
    std::size_t idWidth = 5;
    for (const Check& c : _checks) idWidth = std::max(idWidth, c.id.size());
    auto pad = [](std::string s, std::size_t width) { return s.size() < width ? s + std::string(width - s.size(), ' ') : s; };
    out << "hostd-plugin-check " << _file << "\n\n";
    out << "  " << pad("CHECK", idWidth) << "  RESULT  " << pad("TIME", 10) << "  REASON\n";
    int counts[4] = {0, 0, 0, 0};
    for (const Check& c : _checks) {
        ++counts[static_cast<int>(c.status)];
        out << "  " << pad(c.id, idWidth) << "  " << pad(std::string(statusName(c.status)), 6) << "  "
            << pad(formatMs(c.milliseconds), 10) << "  " << c.reason << "\n";
    }
    if (!_log.empty()) {
        out << "\nplugin log:\n";
        for (const LogLine& l : _log) out << "  <" << l.level << "> " << l.text << "\n";
    }
    out << "\nresult: " << (failed(false) ? "FAIL" : "pass") << " (" << counts[0] << " passed, " << counts[1]
        << " warnings, " << counts[2] << " failed, " << counts[3] << " skipped)\n";
}

void Report::printJson(std::ostream& out) const {
    out << "{\n  \"file\": " << jsonString(_file) << ",\n  \"result\": \"" << (failed(false) ? "fail" : "pass")
        << "\",\n  \"checks\": [";
    const char* sep = "\n";
    for (const Check& c : _checks) {
        out << sep << "    {\"id\": " << jsonString(c.id) << ", \"status\": \"" << statusName(c.status)
            << "\", \"reason\": " << jsonString(c.reason);
        if (c.milliseconds) {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.3f", *c.milliseconds);
            out << ", \"duration_ms\": " << buf;
        }
        out << "}";
        sep = ",\n";
    }
    out << "\n  ],\n  \"log\": [";
    sep = "\n";
    for (const LogLine& l : _log) {
        out << sep << "    {\"level\": " << jsonString(l.level) << ", \"message\": " << jsonString(l.text) << "}";
        sep = ",\n";
    }
    out << (_log.empty() ? "]\n}\n" : "\n  ]\n}\n");
}

std::string jsonString(std::string_view text) {
    std::string out = "\"";
    for (std::size_t i = 0; i < text.size();) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        std::size_t len = utf8Length(text, i);
        if (len == 0) {
            out += "\\ufffd";  // JSON must be valid UTF-8; a plugin's log line need not be
            ++i;
            continue;
        }
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c < 0x20 || c == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out.append(text.substr(i, len));
        }
        i += len;
    }
    return out + "\"";
}

}  // namespace hostd::check
