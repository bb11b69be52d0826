// The Supervisor's side of hostctl: the control socket's commands, run on the main loop like
// everything else the Supervisor does, through the same machinery as signals and file
// changes (requestStop, schedule, reloadConfiguration, releaseQuarantine, submitReload).
//
// start, stop, restart and reload NAME reply once the action is accepted, not completed: the
// reply says what the plugin does now ("state"), and hostctl list shows where it got to. A
// plugin's stop or start may take up to its deadline, and a client waiting that long would
// hold a connection slot for it.
#include "Supervisor.h"

#include "ControlServer.h"
#include "Log.h"
#include "Metrics.h"
#include "SupervisorInternal.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include <ctime>
#include <unistd.h>

namespace hostd {

using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

std::string rfc3339(std::chrono::system_clock::time_point t) {
    std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string wallTime(Clock::time_point t) {
    return rfc3339(std::chrono::system_clock::now() -
                   std::chrono::duration_cast<std::chrono::system_clock::duration>(Clock::now() - t));
}

Array::Ptr toArray(const std::vector<std::string>& items) {
    Array::Ptr a = new Array;
    for (const auto& i : items) a->add(i);
    return a;
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

Object::Ptr pluginReply(const Plugin& p) {
    Object::Ptr reply = new Object;
    reply->set("plugin", p.name);
    reply->set("state", std::string(stateName(p.state)));
    reply->set("pending", pendingName(p.afterStop));
    return reply;
}

std::string describeState(const Plugin& p) {
    return std::string(stateName(p.state)) + (p.reason.empty() ? "" : " (" + p.reason + ")");
}

}  // namespace

void Supervisor::openControl(std::optional<ControlSocket> socket) {
    if (!socket) return;
    const HostSettings& h = _config->host;
    std::optional<gid_t> group = h.controlGroup.empty() ? std::nullopt : resolveControlGroup(h.controlGroup);
    _commands.add("status", [this](const ControlRequest& r) { return controlStatus(r); });
    _commands.add("list", [this](const ControlRequest& r) { return controlList(r); });
    _commands.add("reload", [this](const ControlRequest& r) { return controlReload(r); });
    _commands.add("start", [this](const ControlRequest& r) { return controlStart(r); });
    _commands.add("stop", [this](const ControlRequest& r) { return controlStop(r); });
    _commands.add("restart", [this](const ControlRequest& r) { return controlRestart(r); });
    _commands.add("log-level", [this](const ControlRequest& r) { return controlLogLevel(r); });
    _commands.add("top", [](const ControlRequest&) {
        // The same per-plugin view as /debug/plugins, from /proc/self and the status board.
        return Poco::JSON::Parser().parse(pluginUsageJson(pluginUsage())).extract<Object::Ptr>();
    });
    _control = std::make_unique<ControlServer>(_loop, std::move(*socket), _commands);
    _control->setGroup(group);
}

void Supervisor::recordReload(std::string_view why, const ConfigLoad& load) {
    Object::Ptr r = new Object;
    r->set("ok", load.ok());
    r->set("at", rfc3339(std::chrono::system_clock::now()));
    r->set("reason", std::string(why));
    r->set("generation", load.ok() ? _generation + 1 : _generation);
    std::vector<std::string> errors;
    for (const auto& issue : load.issues)
        if (!issue.warning) errors.push_back(issue.str());
    r->set("errors", toArray(errors));
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

Plugin& Supervisor::controlPlugin(const ControlRequest& r) {
    if (r.plugin.empty()) throw ControlError(r.cmd + " needs a plugin name");
    Plugin* p = isValidPluginName(r.plugin) ? find(r.plugin) : nullptr;
    if (p == nullptr) throw ControlError("unknown plugin " + utf8Prefix(r.plugin, 200));
    return *p;
}

void Supervisor::controlMayChange(const ControlRequest& r) const {
    if (_phase == Phase::Draining || _phase == Phase::Done) throw ControlError("hostd is draining; nothing can be changed");
    HOSTD_AUDIT(r.plugin.empty() ? "" : r.plugin, "control command", {"cmd", r.cmd}, {"peer_pid", std::to_string(r.peer.pid)},
                {"peer_uid", std::to_string(r.peer.uid)});
}

Object::Ptr Supervisor::controlStatus(const ControlRequest&) {
    static const char* const kPhases[] = {"starting", "running", "draining", "done"};
    Object::Ptr counts = new Object;
    for (const auto& [_, p] : _plugins) {
        std::string state(stateName(p->state));
        counts->set(state, (counts->has(state) ? counts->getValue<int>(state) : 0) + 1);
    }
    Object::Ptr r = new Object;
    r->set("phase", kPhases[static_cast<int>(_phase)]);
    r->set("pid", static_cast<int>(::getpid()));
    r->set("started_at", wallTime(_startedAt));
    r->set("uptime_seconds", std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - _startedAt).count());
    r->set("generation", _generation);
    r->set("config", _source.path);
    r->set("plugin_dir", pluginDir());
    r->set("plugins", counts);
    r->set("last_reload", _lastReload ? Poco::Dynamic::Var(_lastReload) : Poco::Dynamic::Var());
    Object::Ptr held;  // null unless a load or unload hung: no plugin can be (un)loaded until a restart
    if (const LoadWatch::Job* hung = _executor->hungLoad()) {
        held = new Object;
        held->set("plugin", hung->plugin);
        held->set("call", std::string(hung->what));
        held->set("sha256", hung->sha256);
    }
    r->set("loader_held_by", held ? Poco::Dynamic::Var(held) : Poco::Dynamic::Var());
    return r;
}

Object::Ptr Supervisor::controlList(const ControlRequest&) {
    Array::Ptr plugins = new Array;
    for (const auto& [name, p] : _plugins) {
        Object::Ptr o = new Object;
        o->set("name", name);
        o->set("state", std::string(stateName(p->state)));
        o->set("reason", p->reason);
        o->set("version", p->image ? p->image->version() : "");
        o->set("file", p->path);
        o->set("sha256", p->image ? p->image->sha256() : "");
        o->set("loaded_since", p->image ? wallTime(p->since) : "");
        o->set("last_error", p->lastError);
        o->set("last_error_at", p->lastError.empty() ? "" : wallTime(p->lastErrorAt));
        o->set("dependencies", toArray(p->dependencies));
        bool quarantined = p->state == PluginState::Quarantined;
        o->set("quarantine_reason", quarantined ? p->reason : "");
        o->set("quarantined_since", quarantined ? wallTime(p->quarantinedSince) : "");
        plugins->add(o);
    }
    Object::Ptr r = new Object;
    r->set("plugins", plugins);
    return r;
}

Object::Ptr Supervisor::controlReload(const ControlRequest& r) {
    Object::Ptr reply = new Object;
    if (r.plugin.empty()) {
        controlMayChange(r);
        reloadConfiguration("hostctl reload");
        if (!_lastReload->getValue<bool>("ok")) {
            auto errors = _lastReload->getArray("errors");
            std::string text;
            for (std::size_t i = 0; i < errors->size() && i < 5; ++i) text += (i ? "; " : "") + errors->getElement<std::string>(i);
            throw ControlError("configuration reload failed, generation " + std::to_string(_generation) +
                               " stays in effect: " + text);
        }
        reply->set("generation", _generation);
        return reply;
    }
    Plugin& p = controlPlugin(r);
    controlMayChange(r);
    if (p.state != PluginState::Running || p.afterStop != AfterStop::None)
        throw ControlError("cannot reload " + p.name + ": it is " + describeState(p));
    if (!p.image->hasReload()) throw ControlError("cannot reload " + p.name + ": it has no reload callback");
    submitReload(p);
    return pluginReply(p);
}

Object::Ptr Supervisor::controlStart(const ControlRequest& r) {
    Plugin& p = controlPlugin(r);
    controlMayChange(r);
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
    return pluginReply(p);
}

Object::Ptr Supervisor::controlStop(const ControlRequest& r) {
    Plugin& p = controlPlugin(r);
    controlMayChange(r);
    bool waiting = p.state == PluginState::Loaded || p.state == PluginState::Pending || p.state == PluginState::Blocked ||
                   p.state == PluginState::Failed;
    if (p.afterStop == AfterStop::Hold || (p.state == PluginState::Stopped && p.afterStop == AfterStop::None))
        throw ControlError(p.name + " is already stopped");
    if (!p.active() && !waiting) throw ControlError("cannot stop " + p.name + ": it is " + describeState(p));
    requestStop(p, AfterStop::Hold);
    if (p.afterStop != AfterStop::Hold)  // an upgrade, removal or disable is already under way
        throw ControlError("cannot stop " + p.name + ": it is being replaced, removed or disabled");
    schedule();  // may apply the stop at once (a plugin that was not running)
    return pluginReply(p);
}

Object::Ptr Supervisor::controlRestart(const ControlRequest& r) {
    Plugin& p = controlPlugin(r);
    if (p.state != PluginState::Running || p.afterStop != AfterStop::None) return controlStart(r);
    controlMayChange(r);
    requestStop(p, AfterStop::Restart);  // its dependents stop first and start again after it
    schedule();
    return pluginReply(p);
}

Object::Ptr Supervisor::controlLogLevel(const ControlRequest& r) {
    auto level = parseLevel(r.level);
    if (!level) throw ControlError("unknown log level '" + utf8Prefix(r.level, 64) + "' (error, warning, notice, info, debug)");
    if (!r.plugin.empty() && !find(r.plugin) && !(isValidPluginName(r.plugin) && _config->plugin(r.plugin)))
        throw ControlError("unknown plugin " + utf8Prefix(r.plugin, 200));
    controlMayChange(r);
    if (r.plugin.empty())
        Log::setLevel(*level);
    else
        Log::setPluginLevel(r.plugin, *level);
    // Written at Notice so that it shows at any level but error, including the one just set.
    HOSTD_LOG(Notice, r.plugin, "log level set until the next configuration reload", {"level", std::string(levelName(*level))});
    Object::Ptr reply = new Object;
    reply->set("level", std::string(levelName(*level)));
    if (!r.plugin.empty()) reply->set("plugin", r.plugin);
    return reply;
}

}  // namespace hostd
