#include "Config.h"

#include "ConfigRules.h"
#include "ListenAddress.h"
#include "LogOutput.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>
#include <sstream>

namespace hostd {

namespace {

constexpr std::string_view kPluginPrefix = "plugin.";

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

bool isKeyChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}

const std::set<std::string, std::less<>> kLogLevels{"error", "warning", "notice", "info", "debug"};

/// Keys of a [plugin.NAME] section that configure the host, not the plugin.
const std::set<std::string, std::less<>> kPluginHostKeys{"enabled",        "requires", "stop_timeout", "start_timeout",
                                                         "reload_timeout", "restart",  "sha256",       "log_level",
                                                         "log_rate_limit", "isolation",
                                                         // Confinement (isolated plugins only)
                                                         "user", "group", "capabilities", "rlimit_nofile", "rlimit_as",
                                                         "rlimit_nproc", "rlimit_core", "seccomp", "seccomp_allow"};

/// A value as written, before validation.
struct RawValue {
    std::string value;
    Origin origin;
};

/// A section as merged from all files, before validation.
struct RawSection {
    Origin origin;
    std::vector<std::pair<std::string, RawValue>> keys;  // first-appearance order, later values win

    void set(const std::string& key, RawValue v) {
        for (auto& [k, old] : keys)
            if (k == key) {
                old = std::move(v);
                return;
            }
        keys.emplace_back(key, std::move(v));
    }
};

/// Parses one file's syntax into `sections` (merged), recording syntax errors.
class FileParser {
public:
    FileParser(std::map<std::string, RawSection>& sections, std::vector<std::string>& sectionOrder,
               std::vector<ConfigIssue>& issues)
        : _sections(sections), _order(sectionOrder), _issues(issues) {}

    void parse(const ConfigText& source) {
        std::istringstream in(source.text);
        std::string line;
        int lineNo = 0;
        std::string current;  // empty: before any section
        std::map<std::string, Origin> headersInFile;
        std::map<std::string, Origin> keysInFile;  // "section\nkey" -> origin
        while (std::getline(in, line)) {
            ++lineNo;
            Origin here{source.file, lineNo};
            std::string_view s = trim(line);
            if (s.empty() || s.front() == '#' || s.front() == ';') continue;
            if (s.front() == '[') {
                current.clear();
                if (s.back() != ']') {
                    error(here, "section header '" + std::string(s) + "' lacks a closing ']'");
                    current = "\n";  // swallow its keys without more errors
                    continue;
                }
                std::string name(trim(s.substr(1, s.size() - 2)));
                if (!validSectionName(here, name)) {
                    current = "\n";
                    continue;
                }
                if (auto it = headersInFile.find(name); it != headersInFile.end()) {
                    error(here, "section [" + name + "] already started at line " + std::to_string(it->second.line));
                    current = "\n";
                    continue;
                }
                headersInFile.emplace(name, here);
                auto [it, inserted] = _sections.try_emplace(name);
                if (inserted) {
                    it->second.origin = here;
                    _order.push_back(name);
                }
                current = name;
                continue;
            }
            auto eq = s.find('=');
            if (eq == std::string_view::npos) {
                error(here, "expected 'key = value', '[section]' or a comment, got '" + std::string(s) + "'");
                continue;
            }
            std::string key(trim(s.substr(0, eq)));
            std::string value(trim(s.substr(eq + 1)));
            if (key.empty() || !std::all_of(key.begin(), key.end(), isKeyChar)) {
                error(here, "invalid key '" + key + "' (letters, digits, '_', '-', '.')");
                continue;
            }
            if (current.empty()) {
                error(here, "key '" + key + "' outside any section");
                continue;
            }
            if (current == "\n") continue;  // inside a rejected section: already reported
            auto [it, inserted] = keysInFile.try_emplace(current + "\n" + key, here);
            if (!inserted) {
                error(here, "duplicate key '" + key + "' in [" + current + "] (first set at line " +
                                std::to_string(it->second.line) + ")");
                continue;
            }
            _sections[current].set(key, RawValue{value, here});
        }
    }

private:
    bool validSectionName(const Origin& here, const std::string& name) {
        if (name == "hostd") return true;
        if (name.starts_with(kPluginPrefix)) {
            std::string plugin = name.substr(kPluginPrefix.size());
            if (isValidPluginName(plugin)) return true;
            error(here, "invalid plugin name '" + plugin + "' in [" + name + "] (allowed: A-Z a-z 0-9 _ -)");
            return false;
        }
        error(here, "unknown section [" + name + "] (expected [hostd] or [plugin.NAME])");
        return false;
    }

    void error(const Origin& o, std::string message) { _issues.push_back({o, std::move(message), false}); }

    std::map<std::string, RawSection>& _sections;
    std::vector<std::string>& _order;
    std::vector<ConfigIssue>& _issues;
};

/// Validates merged sections into a snapshot.
class Validator {
public:
    explicit Validator(std::vector<ConfigIssue>& issues) : _issues(issues) {}

    void hostSection(const RawSection& raw, ConfigSnapshot& out) {
        HostSettings& h = out.host;
        for (const auto& [key, v] : raw.keys) {
            out.hostOrigins[key] = v.origin;
            if (key == "plugin_dir") {
                absolutePath(v, key, h.pluginDir);
            } else if (key == "stop_timeout") {
                duration(v, key, h.stopTimeout);
            } else if (key == "plugin_stop_timeout") {
                duration(v, key, h.pluginStopTimeout);
            } else if (key == "log_level") {
                logLevel(v, h.logLevel);
            } else if (key == "log_rate_limit") {
                integer(v, key, 0, 1000000, h.logRateLimit);
            } else if (key == "allow_symlinks") {
                boolean(v, key, h.allowSymlinks);
            } else if (key == "redact_keys") {
                h.redactKeys.clear();
                for (auto word : splitList(v.value)) {
                    for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                    if (word.find_first_of("_-.") != std::string::npos)
                        error(v.origin, "redact_keys: '" + word + "' is not one word (keys are split at '_', '-' and '.')");
                    else
                        h.redactKeys.push_back(word);
                }
            } else if (key == "start_timeout") {
                duration(v, key, h.startTimeout);
            } else if (key == "reload_timeout") {
                duration(v, key, h.reloadTimeout);
            } else if (key == "load_timeout") {
                if (duration(v, key, h.loadTimeout) && h.loadTimeout <= Millis::zero())
                    error(v.origin, "load_timeout = '" + v.value +
                                        "' must be more than 0: it bounds how long a plugin's load may hold the loop");
            } else if (key == "restart_burst") {
                integer(v, key, 1, 1000, h.restartBurst);
            } else if (key == "restart_interval") {
                duration(v, key, h.restartInterval);
            } else if (key == "crash_quarantine") {
                integer(v, key, 0, 1000, h.crashQuarantine);
            } else if (key == "state_dir") {
                absolutePath(v, key, h.stateDir);
            } else if (key == "pidfile") {
                if (v.value.empty())
                    h.pidfile.clear();  // none
                else
                    absolutePath(v, key, h.pidfile);
            } else if (key == "user" || key == "group") {
                if (auto bad = checkAccountName(key, v.value); !bad.empty())
                    error(v.origin, bad);
                else
                    (key == "user" ? h.user : h.group) = v.value;
            } else if (key == "capabilities") {
                if (auto bad = parseCapabilities(v.value, h.capabilities); !bad.empty()) error(v.origin, bad);
            } else if (key == "rlimit_nofile" || key == "rlimit_core" || key == "rlimit_fsize") {
                if (auto bad = checkLimit(key, v.value); !bad.empty())
                    error(v.origin, bad);
                else
                    (key == "rlimit_nofile" ? h.rlimitNofile : key == "rlimit_core" ? h.rlimitCore : h.rlimitFsize) = v.value;
            } else if (key == "isolation") {
                isolation(v, h.isolated);
            } else if (key == "log_format") {
                if (v.value == "auto" || parseLogFormat(v.value))
                    h.logFormat = v.value;
                else
                    error(v.origin, "log_format = '" + v.value + "' is not one of auto, text, json, journal");
            } else if (key == "log_target") {
                if (isValidLogTarget(v.value))
                    h.logTarget = v.value;
                else
                    error(v.origin, "log_target = '" + v.value + "' is not stderr, syslog or an absolute file path");
            } else if (key == "control_socket") {
                if (auto bad = checkSocketPath(key, v.value); !bad.empty())
                    error(v.origin, bad);
                else
                    h.controlSocket = v.value;  // empty: no socket
            } else if (key == "control_group") {
                if (auto bad = checkAccountName(key, v.value); !bad.empty())
                    error(v.origin, bad);
                else
                    h.controlGroup = v.value;
            } else if (key == "metrics_listen") {
                std::string why;
                if (!v.value.empty() && !ListenAddress::parse(v.value, why))
                    error(v.origin, "metrics_listen = '" + v.value + "': " + why);
                else
                    h.metricsListen = v.value;
            } else if (key == "metrics_allow_remote") {
                boolean(v, key, h.metricsAllowRemote);
            } else if (key == "metrics_token_file") {
                if (v.value.empty())
                    h.metricsTokenFile.clear();
                else
                    absolutePath(v, key, h.metricsTokenFile);
            } else {
                error(v.origin, "unknown key '" + key + "' in [hostd]");
            }
        }
        checkMetricsExposure(h, out.hostOrigins);
        warnAboutRootKept(h, out.hostOrigins);
    }

    void pluginSection(const std::string& name, const RawSection& raw, ConfigSnapshot& out) {
        PluginSection p;
        p.name = name;
        p.origin = raw.origin;
        for (const auto& [key, v] : raw.keys) {
            if (kPluginHostKeys.count(key)) p.origins[key] = v.origin;
            if (key == "enabled") {
                boolean(v, key, p.enabled);
            } else if (key == "requires") {
                for (auto& dep : splitList(v.value)) {
                    if (!isValidPluginName(dep))
                        error(v.origin, "requires: invalid plugin name '" + dep + "'");
                    else if (dep == name)
                        error(v.origin, "requires: plugin '" + name + "' cannot require itself");
                    else
                        p.dependencies.push_back(dep);
                }
            } else if (key == "stop_timeout" || key == "start_timeout" || key == "reload_timeout") {
                Millis d{};
                if (duration(v, key, d))
                    (key == "stop_timeout" ? p.stopTimeout : key == "start_timeout" ? p.startTimeout : p.reloadTimeout) = d;
            } else if (key == "restart") {
                if (v.value == "on-failure" || v.value == "no")
                    p.restartOnFailure = v.value == "on-failure";
                else
                    error(v.origin, "restart = '" + v.value + "' is not one of no, on-failure");
            } else if (key == "sha256") {
                std::string hex = v.value;
                for (char& c : hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos)
                    error(v.origin, "sha256 = '" + v.value + "' is not 64 hexadecimal digits");
                else
                    p.sha256 = hex;
            } else if (key == "log_level") {
                logLevel(v, p.logLevel);
            } else if (key == "log_rate_limit") {
                int rate = 0;
                if (integer(v, key, 0, 1000000, rate)) p.logRateLimit = rate;
            } else if (key == "isolation") {
                bool isolated = false;
                if (isolation(v, isolated)) p.isolated = isolated;
            } else if (isConfinementKey(key)) {
                if (auto bad = applyConfinementKey(key, v.value, p.confinement); !bad.empty()) error(v.origin, bad);
            } else {
                p.settings.push_back({key, v.value, v.origin});
            }
        }
        if (!(p.isolated ? *p.isolated : out.host.isolated))
            for (const auto& [key, origin] : p.origins)
                if (isConfinementKey(key))
                    error(origin, key + " applies only to an isolated plugin (isolation = process): in hostd's process it "
                                        "cannot be honoured");
        out.plugins.emplace(name, std::move(p));
    }

private:
    void checkMetricsExposure(const HostSettings& h, const std::map<std::string, Origin>& origins) {
        // The endpoint shows plugin names, errors and memory layout: other hosts must not see it
        // by accident.
        std::string why;
        auto address = h.metricsListen.empty() ? std::nullopt : ListenAddress::parse(h.metricsListen, why);
        if (address && !address->loopback() && !h.metricsAllowRemote)
            error(origins.at("metrics_listen"), "metrics_listen = '" + h.metricsListen +
                                                    "' is not a loopback address; set metrics_allow_remote = true "
                                                    "to expose metrics to other hosts");
    }

    void warnAboutRootKept(const HostSettings& h, const std::map<std::string, Origin>& origins) {
        // Capabilities limit what root may do to the kernel, not to files: uid 0 still owns
        // and may rewrite every root-owned file.
        if (!h.user.empty() || origins.count("user")) return;  // a bad user line has its own error
        for (const char* key : {"capabilities", "group"})
            if (auto it = origins.find(key); it != origins.end())
                _issues.push_back({it->second,
                                   std::string(key) + " without user: started as root, hostd keeps uid 0 and may still "
                                                      "write every root-owned file; set user in [hostd]",
                                   true});
    }

    bool duration(const RawValue& v, const std::string& key, Millis& out) {
        if (auto d = parseDuration(v.value)) {
            out = *d;
            return true;
        }
        error(v.origin, key + " = '" + v.value + "' is not a duration (e.g. 500ms, 10s, 2m; a bare number is seconds)");
        return false;
    }

    bool integer(const RawValue& v, const std::string& key, int min, int max, int& out) {
        int n = 0;
        auto [end, ec] = std::from_chars(v.value.data(), v.value.data() + v.value.size(), n);
        if (v.value.empty() || ec != std::errc() || end != v.value.data() + v.value.size() || n < min || n > max) {
            error(v.origin, key + " = '" + v.value + "' is not an integer in [" + std::to_string(min) + ", " +
                                std::to_string(max) + "]");
            return false;
        }
        out = n;
        return true;
    }

    void absolutePath(const RawValue& v, const std::string& key, std::string& out) {
        if (v.value.empty() || v.value.front() != '/')
            error(v.origin, key + " = '" + v.value + "' must be an absolute path");
        else
            out = v.value;
    }

    void logLevel(const RawValue& v, std::string& out) {
        std::string level = v.value == "information" ? "info" : v.value;
        if (kLogLevels.count(level) == 0)
            error(v.origin, "log_level = '" + v.value + "' is not one of error, warning, notice, info, debug");
        else
            out = level;
    }

    bool isolation(const RawValue& v, bool& isolated) {
        if (v.value != "process" && v.value != "in-process") {
            error(v.origin, "isolation = '" + v.value + "' is not one of in-process, process");
            return false;
        }
        isolated = v.value == "process";
        return true;
    }

    void boolean(const RawValue& v, const std::string& key, bool& out) {
        if (auto b = parseBool(v.value))
            out = *b;
        else
            error(v.origin, key + " = '" + v.value + "' is not a boolean (true or false)");
    }

    void error(const Origin& o, std::string message) { _issues.push_back({o, std::move(message), false}); }

    std::vector<ConfigIssue>& _issues;
};

/// Validation messages quote the value they refuse, and reach the log on a reload: a secret
/// value (ConfigSnapshot::isSecret) is replaced in the messages about its line.
void redactIssues(const std::map<std::string, RawSection>& sections, const ConfigSnapshot& snapshot,
                  std::vector<ConfigIssue>& issues) {
    static const std::string kRedacted = "<redacted>";
    for (const auto& [_, section] : sections)
        for (const auto& [key, v] : section.keys) {
            if (v.value.empty() || !snapshot.isSecret(key)) continue;
            for (auto& issue : issues) {
                if (issue.origin.file != v.origin.file || issue.origin.line != v.origin.line) continue;
                // The value, wherever it is quoted, but never inside the key's own name (a
                // value "token" in "api_token = token").
                std::string& m = issue.message;
                for (auto pos = m.find(v.value); pos != std::string::npos; pos = m.find(v.value, pos)) {
                    bool inKey = false;
                    for (auto k = m.find(key); k != std::string::npos && k <= pos; k = m.find(key, k + 1))
                        inKey |= pos < k + key.size();
                    if (inKey) {
                        ++pos;
                        continue;
                    }
                    m.replace(pos, v.value.size(), kRedacted);
                    pos += kRedacted.size();  // never searched again: a value may occur in "<redacted>"
                }
            }
        }
}

}  // namespace

ConfigLoad parseConfig(const std::vector<ConfigText>& sources) {
    ConfigLoad result;
    std::map<std::string, RawSection> sections;
    std::vector<std::string> order;
    FileParser parser(sections, order, result.issues);
    auto snapshot = std::make_shared<ConfigSnapshot>();
    for (const auto& src : sources) {
        parser.parse(src);
        snapshot->files.push_back(src.file);
    }
    Validator validator(result.issues);
    if (auto it = sections.find("hostd"); it != sections.end()) validator.hostSection(it->second, *snapshot);
    for (const auto& name : order)
        if (name != "hostd") validator.pluginSection(name.substr(kPluginPrefix.size()), sections[name], *snapshot);
    redactIssues(sections, *snapshot, result.issues);
    bool anyError = std::any_of(result.issues.begin(), result.issues.end(), [](auto& i) { return !i.warning; });
    std::stable_sort(result.issues.begin(), result.issues.end(), [&](const ConfigIssue& a, const ConfigIssue& b) {
        auto rank = [&](const std::string& f) {
            return std::find(snapshot->files.begin(), snapshot->files.end(), f) - snapshot->files.begin();
        };
        return std::make_pair(rank(a.origin.file), a.origin.line) < std::make_pair(rank(b.origin.file), b.origin.line);
    });
    if (!anyError) result.config = std::move(snapshot);
    return result;
}

}  // namespace hostd
