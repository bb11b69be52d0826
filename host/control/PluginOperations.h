#pragma once

#include "EventLoop.h"

#include <Poco/JSON/Object.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hostd {

/// What hostctl may see of hostd and its plugins, and ask of them: the narrow interface the
/// supervisor offers the control layer, which implements it (HostctlCommands.h renders and
/// audits, the supervisor decides). Called on the loop's thread. Requests it refuses throw
/// ControlError with the reason for the client.
class PluginOperations {
public:
    /// One plugin, as `hostctl list` shows it.
    struct PluginView {
        std::string name;
        std::string state;
        std::string reason;
        std::string version;   ///< Empty without loaded code; so are content and loadedSince.
        std::string file;
        std::string content;
        std::string isolation;  ///< "in-process" or "process", as its code runs (or its section says).
        int runnerPid = 0;      ///< isolation = process: its runner's pid while one lives.
        std::optional<Clock::time_point> loadedSince;
        std::string lastError;
        Clock::time_point lastErrorAt{};
        std::vector<std::string> dependencies;
        bool quarantined = false;
        Clock::time_point quarantinedSince{};
    };

    /// A load or unload that never returned (LoadWatch): nothing loads until a restart.
    struct HungLoad {
        std::string plugin;
        std::string call;
        std::string content;
    };

    /// hostd as `hostctl status` shows it.
    struct HostView {
        std::string phase;
        Clock::time_point startedAt;
        unsigned generation = 0;
        std::string config;
        std::string pluginDir;
        std::map<std::string, int> plugins;      ///< Count by state.
        Poco::JSON::Object::Ptr lastReload;      ///< Null until the first reload.
        std::optional<HungLoad> hungLoad;
    };

    /// What start, stop, restart and reload NAME answer: accepted, not completed.
    struct Accepted {
        std::string plugin;
        std::string state;    ///< Where it is now.
        std::string pending;  ///< What it waits to do (a stop waits for its dependents first), or empty.
    };

    virtual ~PluginOperations() = default;

    virtual HostView host() const = 0;
    virtual std::vector<PluginView> plugins() const = 0;
    virtual bool draining() const = 0;
    virtual bool installed(const std::string& plugin) const = 0;
        /// A record of the plugin exists (whatever its state).
    virtual bool configured(const std::string& plugin) const = 0;
        /// The configuration has a [plugin.NAME] section.

    virtual unsigned reloadConfiguration(std::string_view why) = 0;
        /// Returns the new generation; throws ControlError with the first errors if the new
        /// configuration is refused (the previous one stays).
    virtual Accepted reloadPlugin(const std::string& plugin) = 0;
    virtual Accepted startPlugin(const std::string& plugin) = 0;
    virtual Accepted stopPlugin(const std::string& plugin) = 0;
    virtual Accepted restartPlugin(const std::string& plugin) = 0;
        /// Each for an installed plugin; throws ControlError if its state does not allow it.
};

}  // namespace hostd
