#pragma once

#include "Duration.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hostd {

/// Where a configuration value or section came from.
struct Origin {
    std::string file;
    int line = 0;
    std::string str() const { return line > 0 ? file + ":" + std::to_string(line) : file; }
};

/// One configuration problem, reported as FILE:LINE: message.
struct ConfigIssue {
    Origin origin;
    std::string message;
    bool warning = false;
    std::string str() const { return origin.str() + ": " + (warning ? "warning: " : "") + message; }
};

/// A plugin-specific key with its value and origin, passed through to the plugin.
struct PluginSetting {
    std::string key;
    std::string value;
    Origin origin;
};

/// What an isolated plugin's runner is confined to (isolation = process only: in hostd's process
/// none of it can be honoured). Applied by hostd-runner before the plugin loads (the filter
/// after it loads, before its start).
struct Confinement {
    std::string user;                            ///< Empty: hostd's.
    std::string group;                           ///< Empty: the user's primary group (or hostd's).
    std::optional<std::vector<std::string>> capabilities;  ///< Kept (libcap names); unset: what the runner gets.
    std::vector<std::pair<std::string, std::string>> rlimits;  ///< rlimit_nofile, _as, _nproc, _core as written, valid.
    std::string seccomp = "default";             ///< default (deny what no service needs), strict (@system-service only) or off.
    std::vector<std::string> seccompAllow;       ///< Syscalls allowed besides.

    bool operator==(const Confinement&) const = default;
};

/// Keys of a [plugin.NAME] section that confine its runner (Confinement).
bool isConfinementKey(const std::string& key);

/// A [plugin.NAME] section after merging the main file and drop-ins.
struct PluginSection {
    std::string name;
    Origin origin;                          ///< The first header of the section.
    bool enabled = true;
    std::vector<std::string> dependencies;      ///< Added to the descriptor's requires.
    std::optional<Millis> stopTimeout;      ///< Overrides [hostd] plugin_stop_timeout.
    std::optional<Millis> startTimeout;     ///< Overrides [hostd] start_timeout.
    std::optional<Millis> reloadTimeout;    ///< Overrides [hostd] reload_timeout.
    bool restartOnFailure = true;           ///< restart = on-failure (default) or no.
    std::string sha256;                     ///< Pinned image hash (lowercase hex), or empty.
    std::string logLevel;                   ///< Filter for the plugin's own lines, or empty: the host's.
    std::optional<int> logRateLimit;        ///< Overrides [hostd] log_rate_limit.
    std::optional<bool> isolated;           ///< isolation = process (true) or in-process; overrides [hostd].
    Confinement confinement;                ///< Isolated plugins only.
    std::map<std::string, Origin> origins;  ///< Where each host key of the section was set.
    std::vector<PluginSetting> settings;    ///< Plugin-specific keys, in order of first appearance.

    bool sameSettings(const PluginSection& other) const;
        /// True if the plugin-specific keys and values are equal (origins ignored).
};

/// The [hostd] section.
struct HostSettings {
    std::string pluginDir = "/usr/lib/hostd";
    Millis stopTimeout = std::chrono::seconds(30);
    Millis pluginStopTimeout = std::chrono::seconds(10);
    std::string logLevel = "info";
    int logRateLimit = 10000;               ///< A plugin's own lines per second (a burst of as many); 0: no limit.
    bool allowSymlinks = false;
    std::vector<std::string> redactKeys{"password", "passwd", "secret", "token", "key", "credential"};
    Millis startTimeout = std::chrono::seconds(30);
    Millis reloadTimeout = std::chrono::seconds(30);
    Millis loadTimeout = std::chrono::seconds(10);  ///< dlopen/dlclose of one plugin (LoadWatch.h).
    int restartBurst = 5;
    Millis restartInterval = std::chrono::minutes(5);
    int crashQuarantine = 2;
    std::string stateDir = "/var/lib/hostd";
    std::string pidfile;                    ///< Empty: no pidfile (--pidfile overrides).
    std::string user;                       ///< Empty: keep the starting user (Privileges.h).
    std::string group;                      ///< Empty: the user's primary group.
    std::vector<std::string> capabilities;  ///< Kept (as cap_to_name spells them); every other is dropped.
    std::string rlimitNofile = "hard";      ///< rlimit_* values as written, validated (Rlimits.h).
    std::string rlimitCore;
    std::string rlimitFsize;
    std::string logFormat = "auto";         ///< auto, text, json or journal (LogOutput.h).
    std::string logTarget = "stderr";       ///< stderr, syslog or an absolute file path.
    std::string controlSocket = "/run/hostd/control.sock";  ///< hostctl's unix socket; empty: none (ControlSocket.h).
    std::string controlGroup;               ///< Members may use hostctl besides root and hostd's user; empty: none.
    std::string metricsListen;              ///< HOST:PORT of the metrics endpoint (ListenAddress.h); empty: off.
    bool metricsAllowRemote = false;        ///< Allows a metrics_listen that is not loopback.
    std::string metricsTokenFile;           ///< Bearer token required by the metrics endpoint; empty: none.
    bool isolated = false;                  ///< isolation = process: every plugin in a runner of its own.
};

std::vector<std::pair<std::string, std::string>> describe(const HostSettings& host);
    /// Every [hostd] key with its effective value, formatted as it would be written.

/// An immutable, fully validated configuration. Shared between threads by shared_ptr;
/// a reload builds a new one and swaps the pointer.
class ConfigSnapshot {
public:
    HostSettings host;
    std::map<std::string, PluginSection> plugins;
    std::vector<std::string> files;               ///< Files read, in merge order.
    std::map<std::string, Origin> hostOrigins;    ///< Where each [hostd] key was set.

    const PluginSection* plugin(const std::string& name) const;
        /// The section for `name`, or nullptr.

    bool isolated(const std::string& name) const;
        /// Whether plugin `name` runs in a runner process (isolation = process): its section's
        /// isolation, else [hostd]'s.

    bool isSecret(const std::string& key) const;
        /// True if values of `key` must never be logged: a redact_keys word is one of its
        /// keyWords(), and the last one is not "file".

    std::string display(const std::string& key, const std::string& value) const;
        /// The value as it may appear in logs: "<redacted>" for secrets.
};

using ConfigPtr = std::shared_ptr<const ConfigSnapshot>;

/// Result of loading: a snapshot if there were no errors, and every issue found.
struct ConfigLoad {
    ConfigPtr config;
    std::vector<ConfigIssue> issues;
    bool ok() const { return config != nullptr; }
};

/// A source text to parse: the file name used in messages, and its contents.
struct ConfigText {
    std::string file;
    std::string text;
};

/// Where the configuration comes from, so that a reload can read it again.
struct ConfigSource {
    std::string path;
    bool required = false;                  ///< --config was given: a missing file is an error.
    std::optional<std::string> pluginDir;   ///< --plugin-dir, overriding the file.
};

ConfigLoad parseConfig(const std::vector<ConfigText>& sources);
    /// Parses and validates the sources in order (later values win); reports every error.

ConfigLoad loadConfig(const std::string& mainFile, bool mainFileRequired);
    /// Reads mainFile and every *.conf in "<mainFile>.d/" in lexical order. A missing main
    /// file is an error if mainFileRequired, else built-in defaults apply.

std::vector<std::string> keyWords(std::string_view key);
    /// The words of a key name, lower-cased: split at '_', '-' and '.', and where camelCase
    /// starts a word ("clientSecret", "APIKey" -> "api", "key").

bool isValidPluginName(std::string_view name);
    /// [A-Za-z0-9_-]+

std::vector<std::string> splitList(std::string_view text);
    /// Splits a comma/space separated list, dropping empty items.

}  // namespace hostd
