// The configuration snapshot's queries (plugin sections, secrets) and the helpers shared by
// the parser and its users; the parser and validator are in Config.cpp.
#include "Config.h"

#include "Privileges.h"

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
            {"metrics_token_file", h.metricsTokenFile}};
}

bool PluginSection::sameSettings(const PluginSection& other) const {
    return std::equal(settings.begin(), settings.end(), other.settings.begin(), other.settings.end(),
                      [](const PluginSetting& a, const PluginSetting& b) { return a.key == b.key && a.value == b.value; });
}

const PluginSection* ConfigSnapshot::plugin(const std::string& name) const {
    auto it = plugins.find(name);
    return it == plugins.end() ? nullptr : &it->second;
}

bool ConfigSnapshot::isSecret(const std::string& key) const {
    // A redact word matches a whole word of the key: "api_key" and "key" match "key",
    // "keyboard" does not. A key ending in _file names where a secret is kept (token_file,
    // key_file): its value is a path, which an operator needs to see in errors.
    std::string lower;
    for (char c : key) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.ends_with("_file")) return false;
    std::size_t start = 0;
    while (start <= lower.size()) {
        std::size_t end = lower.find_first_of("_-.", start);
        if (end == std::string::npos) end = lower.size();
        std::string_view word(lower.data() + start, end - start);
        for (const auto& r : host.redactKeys)
            if (word == r) return true;
        start = end + 1;
    }
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
