#include "SectionFile.h"

#include <algorithm>
#include <charconv>
#include <fstream>

namespace hostd::check {

namespace {

/// The keys of a [plugin.NAME] section that hostd keeps for itself (host/config/Config.cpp).
constexpr std::string_view kHostKeys[] = {"enabled", "requires", "stop_timeout", "start_timeout",
                                          "reload_timeout", "restart", "sha256", "log_level"};

std::string_view trim(std::string_view s) {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace

std::optional<std::chrono::milliseconds> parseDuration(std::string_view text) {
    long long unit = 1000;  // a bare number is seconds, as in hostd.conf
    if (text.ends_with("ms")) {
        unit = 1;
        text.remove_suffix(2);
    } else if (text.ends_with("s")) {
        text.remove_suffix(1);
    } else if (text.ends_with("m")) {
        unit = 60000;
        text.remove_suffix(1);
    }
    long long n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || n < 0 || n > (1LL << 40) / unit)
        return std::nullopt;
    return std::chrono::milliseconds(n * unit);
}

PluginSection readSection(const std::string& path, const std::string& pluginName) {
    std::ifstream in(path);
    if (!in) throw SectionError(path + ": cannot open");
    PluginSection out;
    const std::string wanted = "plugin." + pluginName;
    bool inSection = true;  // keys before any header are the plugin's
    bool sawHeader = false, sawSection = false;
    std::string raw;
    for (int lineNo = 1; std::getline(in, raw); ++lineNo) {
        std::string_view line = trim(raw);
        auto where = [&] { return path + ":" + std::to_string(lineNo) + ": "; };
        if (line.empty() || line.front() == '#' || line.front() == ';') continue;
        if (line.front() == '[') {
            if (line.back() != ']') throw SectionError(where() + "a section header must end with ']'");
            sawHeader = true;
            inSection = trim(line.substr(1, line.size() - 2)) == wanted;
            sawSection = sawSection || inSection;
            continue;
        }
        auto eq = line.find('=');
        if (eq == std::string_view::npos) throw SectionError(where() + "expected 'key = value'");
        std::string key(trim(line.substr(0, eq)));
        std::string value(trim(line.substr(eq + 1)));
        if (key.empty()) throw SectionError(where() + "empty key");
        if (!inSection) continue;
        if (key.ends_with("_timeout") && std::find(std::begin(kHostKeys), std::end(kHostKeys), key) != std::end(kHostKeys)) {
            auto d = parseDuration(value);
            if (!d) throw SectionError(where() + key + " = '" + value + "' is not a duration (e.g. 500ms, 10s, 2m)");
            (key == "stop_timeout" ? out.stopTimeout : key == "start_timeout" ? out.startTimeout : out.reloadTimeout) = d;
            continue;
        }
        if (std::find(std::begin(kHostKeys), std::end(kHostKeys), key) != std::end(kHostKeys)) continue;
        auto same = [&](const auto& kv) { return kv.first == key; };
        if (std::any_of(out.entries.begin(), out.entries.end(), same))
            throw SectionError(where() + "key '" + key + "' is set twice");
        out.entries.emplace_back(std::move(key), std::move(value));
    }
    if (sawHeader && !sawSection && out.entries.empty())
        throw SectionError(path + ": no [" + wanted + "] section (the section name must match the file name " +
                           pluginName + ".so)");
    return out;
}

}  // namespace hostd::check
