// The supervisor's answers to hostctl: see HostctlOperations.h. Requests are checked, audited
// and rendered by the control layer (HostctlCommands.cpp).
#include "HostctlOperations.h"

#include "ControlProtocol.h"

namespace hostd {

namespace {

/// What start, stop, restart and reload NAME answer: where the plugin is now, and what it
/// waits to do (a stop waits for its dependents to stop first).
const char* pendingName(AfterStop a) {
    switch (a) {
    case AfterStop::None: return "";
    case AfterStop::Restart: return "restart";
    case AfterStop::Replace: return "upgrade";
    case AfterStop::Remove: return "remove";
    case AfterStop::Fail: return "fail";
    case AfterStop::Disable: return "disable";
    case AfterStop::Hold: return "stop";
    }
    return "";
}

PluginOperations::Accepted accepted(const Plugin& p) {
    return {p.name, std::string(stateName(p.state)), pendingName(p.afterStop)};
}

std::string describeState(const Plugin& p) {
    return std::string(stateName(p.state)) + (p.reason.empty() ? "" : " (" + p.reason + ")");
}

}  // namespace

PluginOperations::HostView HostctlOperations::host() const {
    static const char* const kPhases[] = {"starting", "running", "draining", "done"};
    HostView h;
    h.phase = kPhases[static_cast<int>(_host.phase)];
    h.startedAt = _host.startedAt;
    h.generation = _host.generation;
    h.config = _host.configPath;
    h.pluginDir = _host.pluginDir();
    for (const auto& [_, p] : _scheduler.plugins()) h.plugins[std::string(stateName(p->state))]++;
    h.lastReload = _host.lastReload;
    if (const LoadWatch::Job* hung = _host.executor.hungLoad()) h.hungLoad = HungLoad{hung->plugin, hung->what, hung->content};
    return h;
}

std::vector<PluginOperations::PluginView> HostctlOperations::plugins() const {
    std::vector<PluginView> out;
    for (const auto& [name, p] : _scheduler.plugins()) {
        PluginView v;
        v.name = name;
        v.state = stateName(p->state);
        v.reason = p->reason;
        v.file = p->path;
        bool isolated = _scheduler.config().isolated(name);
        if (p->image) {
            v.version = p->image->version();
            v.content = p->image->content();
            v.loadedSince = p->since;
            isolated = p->image->isolated();
            v.runnerPid = p->image->runnerPid();
        }
        v.isolation = isolated ? "process" : "in-process";
        v.lastError = p->lastError;
        v.lastErrorAt = p->lastErrorAt;
        v.dependencies = p->dependencies;
        v.quarantined = p->state == PluginState::Quarantined;
        v.quarantinedSince = p->quarantinedSince;
        out.push_back(std::move(v));
    }
    return out;
}

bool HostctlOperations::draining() const { return _host.phase == HostPhase::Draining || _host.phase == HostPhase::Done; }

bool HostctlOperations::installed(const std::string& plugin) const { return _scheduler.plugins().count(plugin) != 0; }

bool HostctlOperations::configured(const std::string& plugin) const { return _host.config->plugin(plugin) != nullptr; }

unsigned HostctlOperations::reloadConfiguration(std::string_view why) {
    _host.rereadConfiguration(why);
    if (!_host.lastReload->getValue<bool>("ok")) {
        auto errors = _host.lastReload->getArray("errors");
        std::string text;
        for (std::size_t i = 0; i < errors->size() && i < 5; ++i) text += (i ? "; " : "") + errors->getElement<std::string>(i);
        throw ControlError("configuration reload failed, generation " + std::to_string(_host.generation) +
                           " stays in effect: " + text);
    }
    return _host.generation;
}

PluginOperations::Accepted HostctlOperations::reloadPlugin(const std::string& name) {
    Plugin& p = *_scheduler.find(name);
    if (p.state != PluginState::Running || p.afterStop != AfterStop::None)
        throw ControlError("cannot reload " + p.name + ": it is " + describeState(p));
    if (!p.image->hasReload()) throw ControlError("cannot reload " + p.name + ": it has no reload callback");
    _scheduler.submitReload(p);
    return accepted(p);
}

PluginOperations::Accepted HostctlOperations::startPlugin(const std::string& name) {
    Plugin& p = *_scheduler.find(name);
    if (p.afterStop == AfterStop::Hold) {
        p.afterStop = AfterStop::Restart;  // a stop still on its way: start again once it is done
        p.restartReason = "operator";
    } else {
        switch (p.state) {
        case PluginState::Stopped:
            _scheduler.apply(p, LifecycleEvent::OperatorStart);
            break;
        case PluginState::Failed:  // now, not after the backoff, and with a clean slate
            p.retryAt = Clock::time_point::max();
            p.failures.clear();
            _scheduler.apply(p, LifecycleEvent::OperatorStart);
            break;
        case PluginState::Quarantined:
            _scheduler.recovery().releaseQuarantine(p, "an operator started it (hostctl)");
            break;
        case PluginState::Disabled:
            throw ControlError("cannot start " + p.name + ": it is disabled by configuration (enabled = false)");
        case PluginState::Stuck:
            throw ControlError("cannot start " + p.name + ": it is stuck (" + p.reason + "); restart hostd");
        case PluginState::Running:
        case PluginState::Starting:
        case PluginState::Reloading:
            throw ControlError(p.name + " is already " + describeState(p));
        default:
            throw ControlError("cannot start " + p.name + ": it is " + describeState(p));
        }
    }
    _scheduler.schedule();
    return accepted(p);
}

PluginOperations::Accepted HostctlOperations::stopPlugin(const std::string& name) {
    Plugin& p = *_scheduler.find(name);
    bool waiting = p.state == PluginState::Loaded || p.state == PluginState::Pending || p.state == PluginState::Blocked ||
                   p.state == PluginState::Failed;
    if (p.afterStop == AfterStop::Hold || (p.state == PluginState::Stopped && p.afterStop == AfterStop::None))
        throw ControlError(p.name + " is already stopped");
    if (!p.active() && !waiting) throw ControlError("cannot stop " + p.name + ": it is " + describeState(p));
    _scheduler.requestStop(p, AfterStop::Hold);
    if (p.afterStop != AfterStop::Hold)  // an upgrade, removal or disable is already under way
        throw ControlError("cannot stop " + p.name + ": it is being replaced, removed or disabled");
    _scheduler.schedule();  // may apply the stop at once (a plugin that was not running)
    return accepted(p);
}

PluginOperations::Accepted HostctlOperations::restartPlugin(const std::string& name) {
    Plugin& p = *_scheduler.find(name);
    if (p.state != PluginState::Running || p.afterStop != AfterStop::None) return startPlugin(name);
    _scheduler.requestStop(p, AfterStop::Restart, "operator");  // its dependents stop first and start again after it
    _scheduler.schedule();
    return accepted(p);
}

}  // namespace hostd
