// The Supervisor's side of hostctl: what hostctl may see and ask of the plugins
// (PluginOperations, implemented here), decided on the main loop like everything else, through
// the same machinery as signals and file changes (requestStop, schedule, rereadConfiguration,
// releaseQuarantine, submitReload). Requests are checked, audited and rendered by the control
// layer (HostctlCommands.cpp).
#include "Supervisor.h"

#include "ControlServer.h"
#include "HostctlCommands.h"
#include "Log.h"
#include "SupervisorInternal.h"

#include <Poco/JSON/Array.h>

#include <ctime>

namespace hostd {

using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

std::string rfc3339Now() {
    std::time_t secs = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

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

void Supervisor::openControl(std::optional<ControlSocket> socket) {
    if (!socket) return;
    const HostSettings& h = _config->host;
    std::optional<gid_t> group = h.controlGroup.empty() ? std::nullopt : resolveControlGroup(h.controlGroup);
    addHostctlCommands(_commands, *this);
    _control = std::make_unique<ControlServer>(_loop, std::move(*socket), _commands);
    _control->setGroup(group);
}

void Supervisor::recordReload(std::string_view why, const ConfigLoad& load) {
    Object::Ptr r = new Object;
    r->set("ok", load.ok());
    r->set("at", rfc3339Now());
    r->set("reason", std::string(why));
    r->set("generation", load.ok() ? _generation + 1 : _generation);
    Array::Ptr errors = new Array;
    for (const auto& issue : load.issues)
        if (!issue.warning) errors->add(issue.str());
    r->set("errors", errors);
    _lastReload = r;
}

void Supervisor::controlConfigChanged(const ConfigSnapshot& old) {
    const HostSettings &was = old.host, &now = _config->host;
    // A changed control_socket is named by warnAboutRestartOnlyKeys.
    if (!_control || was.controlGroup == now.controlGroup) return;
    if (_executor->hungLoad() != nullptr) {
        // Looking a group name up may dlopen an NSS module, which would wait for the loader for good.
        HOSTD_LOG(Error, "", "control_group not changed: a hung plugin load holds the dynamic loader; restart hostd",
                  {"control_group", now.controlGroup}, {"previous", was.controlGroup});
        return;
    }
    std::optional<gid_t> group;
    if (!now.controlGroup.empty() && !(group = resolveControlGroup(now.controlGroup))) {
        HOSTD_LOG(Error, "", "control_group does not exist; keeping the previous one", {"control_group", now.controlGroup},
                  {"previous", was.controlGroup});
        return;
    }
    _control->setGroup(group);
    // Who is authorised changes now; the socket file's group (whom the file system lets in) only
    // when hostd restarts, since hostd may no longer have the right to change it.
    HOSTD_LOG(Notice, "", "control_group changed; the socket file keeps its group until hostd restarts",
              {"control_group", now.controlGroup}, {"path", _control->path()});
}

PluginOperations::HostView Supervisor::host() const {
    static const char* const kPhases[] = {"starting", "running", "draining", "done"};
    HostView h;
    h.phase = kPhases[static_cast<int>(_phase)];
    h.startedAt = _startedAt;
    h.generation = _generation;
    h.config = _source.path;
    h.pluginDir = pluginDir();
    for (const auto& [_, p] : _plugins) h.plugins[std::string(stateName(p->state))]++;
    h.lastReload = _lastReload;
    if (const LoadWatch::Job* hung = _executor->hungLoad()) h.hungLoad = HungLoad{hung->plugin, hung->what, hung->sha256};
    return h;
}

std::vector<PluginOperations::PluginView> Supervisor::plugins() const {
    std::vector<PluginView> out;
    for (const auto& [name, p] : _plugins) {
        PluginView v;
        v.name = name;
        v.state = stateName(p->state);
        v.reason = p->reason;
        v.file = p->path;
        if (p->image) {
            v.version = p->image->version();
            v.sha256 = p->image->sha256();
            v.loadedSince = p->since;
        }
        v.lastError = p->lastError;
        v.lastErrorAt = p->lastErrorAt;
        v.dependencies = p->dependencies;
        v.quarantined = p->state == PluginState::Quarantined;
        v.quarantinedSince = p->quarantinedSince;
        out.push_back(std::move(v));
    }
    return out;
}

bool Supervisor::draining() const { return _phase == Phase::Draining || _phase == Phase::Done; }

bool Supervisor::installed(const std::string& plugin) const { return _plugins.count(plugin) != 0; }

bool Supervisor::configured(const std::string& plugin) const { return _config->plugin(plugin) != nullptr; }

unsigned Supervisor::reloadConfiguration(std::string_view why) {
    rereadConfiguration(why);
    if (!_lastReload->getValue<bool>("ok")) {
        auto errors = _lastReload->getArray("errors");
        std::string text;
        for (std::size_t i = 0; i < errors->size() && i < 5; ++i) text += (i ? "; " : "") + errors->getElement<std::string>(i);
        throw ControlError("configuration reload failed, generation " + std::to_string(_generation) + " stays in effect: " + text);
    }
    return _generation;
}

PluginOperations::Accepted Supervisor::reloadPlugin(const std::string& name) {
    Plugin& p = *find(name);
    if (p.state != PluginState::Running || p.afterStop != AfterStop::None)
        throw ControlError("cannot reload " + p.name + ": it is " + describeState(p));
    if (!p.image->hasReload()) throw ControlError("cannot reload " + p.name + ": it has no reload callback");
    submitReload(p);
    return accepted(p);
}

PluginOperations::Accepted Supervisor::startPlugin(const std::string& name) {
    Plugin& p = *find(name);
    if (p.afterStop == AfterStop::Hold) {
        p.afterStop = AfterStop::Restart;  // a stop still on its way: start again once it is done
    } else {
        switch (p.state) {
        case PluginState::Stopped:
            apply(p, LifecycleEvent::OperatorStart);
            break;
        case PluginState::Failed:  // now, not after the backoff, and with a clean slate
            p.retryAt = Clock::time_point::max();
            p.failures.clear();
            apply(p, LifecycleEvent::OperatorStart);
            break;
        case PluginState::Quarantined:
            releaseQuarantine(p, "an operator started it (hostctl)");
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
    schedule();
    return accepted(p);
}

PluginOperations::Accepted Supervisor::stopPlugin(const std::string& name) {
    Plugin& p = *find(name);
    bool waiting = p.state == PluginState::Loaded || p.state == PluginState::Pending || p.state == PluginState::Blocked ||
                   p.state == PluginState::Failed;
    if (p.afterStop == AfterStop::Hold || (p.state == PluginState::Stopped && p.afterStop == AfterStop::None))
        throw ControlError(p.name + " is already stopped");
    if (!p.active() && !waiting) throw ControlError("cannot stop " + p.name + ": it is " + describeState(p));
    requestStop(p, AfterStop::Hold);
    if (p.afterStop != AfterStop::Hold)  // an upgrade, removal or disable is already under way
        throw ControlError("cannot stop " + p.name + ": it is being replaced, removed or disabled");
    schedule();  // may apply the stop at once (a plugin that was not running)
    return accepted(p);
}

PluginOperations::Accepted Supervisor::restartPlugin(const std::string& name) {
    Plugin& p = *find(name);
    if (p.state != PluginState::Running || p.afterStop != AfterStop::None) return startPlugin(name);
    requestStop(p, AfterStop::Restart);  // its dependents stop first and start again after it
    schedule();
    return accepted(p);
}

}  // namespace hostd
