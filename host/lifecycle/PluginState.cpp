#include "PluginState.h"

namespace hostd {

std::string_view stateName(PluginState state) {
    switch (state) {
    case PluginState::Loaded: return "loaded";
    case PluginState::Pending: return "pending";
    case PluginState::Blocked: return "blocked";
    case PluginState::Starting: return "starting";
    case PluginState::Running: return "running";
    case PluginState::Reloading: return "reloading";
    case PluginState::Stopping: return "stopping";
    case PluginState::Stopped: return "stopped";
    case PluginState::Failed: return "failed";
    case PluginState::Stuck: return "stuck";
    case PluginState::Invalid: return "invalid";
    case PluginState::Disabled: return "disabled";
    case PluginState::Quarantined: return "quarantined";
    }
    return "unknown";
}

StartDecision decideStart(const std::vector<DependencyState>& dependencies, const std::string& cycle) {
    StartDecision d;
    if (!cycle.empty()) {
        d.state = PluginState::Blocked;
        d.reason = "dependency cycle " + cycle;
        return d;
    }
    std::string missing, blockers, waiting;
    auto add = [](std::string& list, const std::string& item) { list += (list.empty() ? "" : ", ") + item; };
    bool allRunning = true;
    for (const auto& dep : dependencies) {
        if (!dep.state) {
            add(missing, dep.name);
        } else if (*dep.state == PluginState::Running || *dep.state == PluginState::Reloading) {
            continue;
        } else if (*dep.state == PluginState::Pending) {
            add(waiting, dep.name + " (pending)");
        } else if (*dep.state != PluginState::Loaded && *dep.state != PluginState::Starting) {
            add(blockers, dep.name + " (" + std::string(stateName(*dep.state)) + ")");
        }
        allRunning = false;
    }
    if (!blockers.empty()) {
        d.state = PluginState::Blocked;
        d.reason = "blocked by " + blockers;
    } else if (!missing.empty() || !waiting.empty()) {
        d.state = PluginState::Pending;
        d.reason = "waiting for ";
        if (!missing.empty()) d.reason += missing + " (not installed)" + (waiting.empty() ? "" : ", ");
        d.reason += waiting;
    } else {
        d.start = allRunning;
    }
    return d;
}

}  // namespace hostd
