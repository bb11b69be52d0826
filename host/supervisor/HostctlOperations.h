#pragma once

#include "PluginOperations.h"
#include "Scheduler.h"

#include <functional>
#include <string>

namespace hostd {

/// The supervisor's answers to hostctl (PluginOperations): what it may see of the host and the
/// plugins, and the operator's start, stop, restart and reload of one plugin, decided on the
/// Scheduler's records with the same machinery as signals and file changes (requestStop,
/// schedule, releaseQuarantine, submitReload).
class HostctlOperations : public PluginOperations {
public:
    /// What the Supervisor shows of itself.
    struct Host {
        const HostPhase& phase;
        const Clock::time_point& startedAt;
        const unsigned& generation;
        const std::string& configPath;
        std::function<std::string()> pluginDir;
        const Poco::JSON::Object::Ptr& lastReload;
        const PluginExecutor& executor;
        const ConfigPtr& config;
        std::function<void(std::string_view why)> rereadConfiguration;
    };

    HostctlOperations(Scheduler& scheduler, Host host) : _scheduler(scheduler), _host(std::move(host)) {}

    HostView host() const override;
    std::vector<PluginView> plugins() const override;
    bool draining() const override;
    bool installed(const std::string& plugin) const override;
    bool configured(const std::string& plugin) const override;
    unsigned reloadConfiguration(std::string_view why) override;
    Accepted reloadPlugin(const std::string& plugin) override;
    Accepted startPlugin(const std::string& plugin) override;
    Accepted stopPlugin(const std::string& plugin) override;
    Accepted restartPlugin(const std::string& plugin) override;

private:
    Scheduler& _scheduler;
    Host _host;
};

}  // namespace hostd
