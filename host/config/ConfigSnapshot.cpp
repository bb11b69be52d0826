// The configuration snapshot's queries (plugin sections, secrets) and the helpers shared by
// the parser and its users; the parser and validator are in Config.cpp.
#include "Config.h"

#include "ConfigRules.h"

#include <algorithm>
#include <cctype>

namespace hostd {

std::vector<std::pair<std::string, std::string>> describe(const HostSettings& h) {
    std::string redact;
    for (const auto& w : h.redactKeys) redact += (redact.empty() ? "" : ", ") + w;
    return {{"plugin_dir", h.pluginDir},
            {"stop_timeout", formatDuration(h.stopTimeout)},
            {"plugin_stop_timeout", formatDuration(h.pluginStopTimeout)},
            {"start_timeout", formatDuration(h.startTimeout)},
            {"reload_timeout", formatDuration(h.reloadTimeout)},
            {"load_timeout", formatDuration(h.loadTimeout)},
            {"log_level", h.logLevel},
            {"log_rate_limit", std::to_string(h.logRateLimit)},
            {"allow_symlinks", h.allowSymlinks ? "true" : "false"},
            {"redact_keys", redact},
            {"restart_burst", std::to_string(h.restartBurst)},
            {"restart_interval", formatDuration(h.restartInterval)},
            {"crash_quarantine", std::to_string(h.crashQuarantine)},
            {"state_dir", h.stateDir},
            {"pidfile", h.pidfile},
            {"user", h.user},
            {"group", h.group},
            {"capabilities", joinCapabilities(h.capabilities)},
            {"rlimit_nofile", h.rlimitNofile},
            {"rlimit_core", h.rlimitCore},
            {"rlimit_fsize", h.rlimitFsize},
            {"log_format", h.logFormat},
            {"log_target", h.logTarget},
            {"control_socket", h.controlSocket},
            {"control_group", h.controlGroup},
            {"metrics_listen", h.metricsListen},
            {"metrics_allow_remote", h.metricsAllowRemote ? "true" : "false"},
            {"metrics_token_file", h.metricsTokenFile},
            {"isolation", h.isolated ? "process" : "in-process"}};
}

bool PluginSection::sameSettings(const PluginSection& other) const {
    return std::equal(settings.begin(), settings.end(), other.settings.begin(), other.settings.end(),
                      [](const PluginSetting& a, const PluginSetting& b) { return a.key == b.key && a.value == b.value; });
}

bool ConfigSnapshot::isolated(const std::string& name) const {
    const PluginSection* section = plugin(name);
    return section != nullptr && section->isolated ? *section->isolated : host.isolated;
}

const PluginSection* ConfigSnapshot::plugin(const std::string& name) const {
    auto it = plugins.find(name);
    return it == plugins.end() ? nullptr : &it->second;
}

std::vector<std::string> keyWords(std::string_view key) {
    std::vector<std::string> words;
    std::string word;
    auto flush = [&] {
        if (!word.empty()) words.push_back(std::move(word));
        word.clear();
    };
    auto lower = [](char c) { return std::islower(static_cast<unsigned char>(c)) != 0; };
    auto upper = [](char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; };
    for (std::size_t i = 0; i < key.size(); ++i) {
        char c = key[i];
        if (c == '_' || c == '-' || c == '.') {
            flush();
            continue;
        }
        // A capital starts a word after a lower-case letter or digit (apiKey), and ends a run of
        // capitals when a lower-case letter follows it (APIKey: API, Key).
        bool prevLowerOrDigit = i > 0 && (lower(key[i - 1]) || std::isdigit(static_cast<unsigned char>(key[i - 1])));
        bool endsAcronym = i > 0 && upper(key[i - 1]) && i + 1 < key.size() && lower(key[i + 1]);
        if (upper(c) && (prevLowerOrDigit || endsAcronym)) flush();
        word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    flush();
    return words;
}

bool ConfigSnapshot::isSecret(const std::string& key) const {
    // A redact word matches a whole word of the key, whatever the case and however the words
    // are joined: "api_key", "apiKey" and "API-KEY" match "key"; "keyboard" does not. A key whose
    // last word is "file" names where a secret is kept (token_file, apiKeyFile): its value is a
    // path, which an operator needs to see in errors.
    std::vector<std::string> words = keyWords(key);
    if (!words.empty() && words.back() == "file") return false;
    for (const auto& word : words)
        for (const auto& r : host.redactKeys)
            if (word == r) return true;
    return false;
}

std::string ConfigSnapshot::display(const std::string& key, const std::string& value) const {
    return isSecret(key) ? "<redacted>" : value;
}

bool isValidPluginName(std::string_view name) {
    return !name.empty() && name.size() <= 200 && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
}

std::vector<std::string> splitList(std::string_view text) {
    std::vector<std::string> out;
    std::string item;
    for (char c : text) {
        if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
            if (!item.empty()) out.push_back(std::move(item));
            item.clear();
        } else {
            item += c;
        }
    }
    if (!item.empty()) out.push_back(std::move(item));
    return out;
}

}  // namespace hostd
