#include "ConfigCheck.h"

#include "DependencyGraph.h"
#include "ExitCode.h"
#include "ControlSocket.h"
#include "MetricsServer.h"
#include "PidFile.h"
#include "Privileges.h"
#include "StartupError.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <iomanip>

namespace hostd {

namespace {

void printValue(std::ostream& out, const std::string& key, const std::string& value, const std::string& origin) {
    std::string line = key + " = " + value;
    out << std::left << std::setw(48) << line << " # " << origin << "\n";
}

void printEffective(const ConfigSnapshot& c, std::ostream& out) {
    out << "[hostd]\n";
    for (const auto& [key, value] : describe(c.host)) {
        auto o = c.hostOrigins.find(key);
        printValue(out, key, c.display(key, value), o == c.hostOrigins.end() ? "default" : o->second.str());
    }
    for (const auto& [name, p] : c.plugins) {
        out << "\n[plugin." << name << "]" << std::string(name.size() < 38 ? 38 - name.size() : 1, ' ') << " # "
            << p.origin.str() << "\n";
        for (const auto& [key, origin] : p.origins) {
            std::string value;
            if (key == "enabled") value = p.enabled ? "true" : "false";
            else if (key == "requires") for (const auto& r : p.dependencies) value += (value.empty() ? "" : ", ") + r;
            else if (key == "stop_timeout") value = formatDuration(*p.stopTimeout);
            else if (key == "start_timeout") value = formatDuration(*p.startTimeout);
            else if (key == "reload_timeout") value = formatDuration(*p.reloadTimeout);
            else if (key == "restart") value = p.restartOnFailure ? "on-failure" : "no";
            else if (key == "sha256") value = p.sha256;
            else if (key == "log_level") value = p.logLevel;
            else if (key == "log_rate_limit") value = std::to_string(*p.logRateLimit);
            printValue(out, key, value, origin.str());
        }
        for (const auto& s : p.settings) printValue(out, s.key, c.display(s.key, s.value), s.origin.str());
    }
    out << "\n";
}

/// The trust rules (TrustedPath.h) on every path the configuration names, as the start will
/// apply them: what hostd reads or writes as root with hostd's user among the owners (it keeps
/// using them after the privilege drop), what it uses only as that user with the owners it will
/// have then.
void checkPaths(const ConfigSnapshot& c, const std::string& pluginDir, const std::function<Origin(const std::string&)>& origin,
                std::vector<ConfigIssue>& issues) {
    const HostSettings& h = c.host;
    TrustedOwners owners = hostdOwners(h);
    auto refuse = [&](const std::string& key, const std::string& why, bool warning = false) {
        if (!why.empty()) issues.push_back({origin(key), key + ": refused: " + why, warning});
    };
    refuse("plugin_dir", TrustedPath::refusal(pluginDir, owners, true));
    if (std::string why = TrustedPath::refusal(h.stateDir, owners, true); !why.empty())
        refuse("state_dir", why + " (crash attribution and quarantine will be off)", true);
    if (!h.pidfile.empty()) refuse("pidfile", PidFile::refusal(h.pidfile, owners));
    if (!h.controlSocket.empty()) {
        std::string why = ControlSocket::directoryRefusal(h.controlSocket, owners);
        if (!why.empty()) issues.push_back({origin("control_socket"), why, false});
    }
    if (h.logTarget.starts_with('/')) refuse("log_target", TrustedPath::refusal(h.logTarget, owners, false));
    if (!h.metricsTokenFile.empty()) try {
            readTokenFile(h.metricsTokenFile, owners);  // what the start would refuse
        } catch (const StartupError& e) {
            issues.push_back({origin("metrics_token_file"), e.what(), false});
        }
}

}  // namespace

int checkConfig(const ConfigSource& source, bool verbose, std::ostream& out) {
    namespace fs = std::filesystem;
    ConfigLoad load = loadConfig(source.path, source.required);
    std::vector<ConfigIssue> issues = load.issues;
    if (load.ok()) {
        const ConfigSnapshot& c = *load.config;
        auto hostOrigin = [&](const std::string& key) {
            auto o = c.hostOrigins.find(key);
            return o == c.hostOrigins.end() ? Origin{source.path, 0} : o->second;
        };
        std::string dir = source.pluginDir ? *source.pluginDir : c.host.pluginDir;
        std::error_code ec;
        bool dirExists = fs::is_directory(dir, ec);
        if (!dirExists)
            issues.push_back({source.pluginDir ? Origin{"--plugin-dir", 0} : hostOrigin("plugin_dir"),
                              "plugin directory " + dir + " does not exist (hostd waits for it)", true});
        for (const auto& [key, value] : {std::pair{"user", c.host.user}, std::pair{"group", c.host.group}})
            if (auto message = checkAccountExists(key, value); !message.empty())
                issues.push_back({hostOrigin(key), message, false});
        const std::string& log = c.host.logTarget;
        if (log.starts_with('/') && !fs::is_directory(fs::path(log).parent_path(), ec))
            issues.push_back({hostOrigin("log_target"),
                              "directory of log file " + log + " does not exist (hostd cannot start without it)", true});
        DependencyGraph graph;
        for (const auto& [name, p] : c.plugins) {
            if (!p.enabled) continue;
            graph.set(name, p.dependencies);
            if (dirExists && !fs::exists(dir + "/" + name + ".so", ec))
                issues.push_back({p.origin, "no plugin file " + dir + "/" + name + ".so for [plugin." + name + "]", true});
        }
        checkPaths(c, dir, hostOrigin, issues);
        for (const auto& cycle : graph.cycles()) {
            const PluginSection& first = c.plugins.at(cycle.front());
            auto o = first.origins.find("requires");
            std::string text;
            for (const auto& n : cycle) text += n + " -> ";
            issues.push_back({o == first.origins.end() ? first.origin : o->second, "dependency cycle " + text + cycle.front(), false});
        }
    }
    if (load.ok()) {
        const auto& files = load.config->files;
        auto rank = [&](const ConfigIssue& i) {
            return std::make_pair(std::find(files.begin(), files.end(), i.origin.file) - files.begin(), i.origin.line);
        };
        std::stable_sort(issues.begin(), issues.end(), [&](auto& a, auto& b) { return rank(a) < rank(b); });
    }
    int errors = 0, warnings = 0;
    for (const auto& i : issues) {
        out << i.str() << "\n";
        (i.warning ? warnings : errors)++;
    }
    if (errors > 0) {
        out << "configuration invalid: " << errors << " error(s), " << warnings << " warning(s)\n";
        return kExitConfig;
    }
    if (verbose) printEffective(*load.config, out);
    // A runner is given only what hostd holds: what to keep when hostd drops privileges.
    std::string needs;
    for (const auto& n : runnerNeeds(*load.config)) needs += (needs.empty() ? "" : ", ") + n.capability + " (" + n.why + ")";
    if (!needs.empty()) out << "isolated plugins need these capabilities of hostd: " << needs << "\n";
    out << "configuration OK";
    if (warnings > 0) out << " (" << warnings << " warning(s))";
    out << "\n";
    return kExitOk;
}

}  // namespace hostd
