// hostctl's commands: requests checked, audited and rendered here; what they do is decided by
// the supervisor behind PluginOperations.
//
// start, stop, restart and reload NAME reply once the action is accepted, not completed: the
// reply says what the plugin does now ("state"), and hostctl list shows where it got to. A
// plugin's stop or start may take up to its deadline, and a client waiting that long would
// hold a connection slot for it.
#include "HostctlCommands.h"

#include "Config.h"
#include "Log.h"
#include "Metrics.h"

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

Object::Ptr reply(const PluginOperations::Accepted& a) {
    Object::Ptr r = new Object;
    r->set("plugin", a.plugin);
    r->set("state", a.state);
    r->set("pending", a.pending);
    return r;
}

class Commands {
public:
    explicit Commands(PluginOperations& ops) : _ops(ops) {}

    Object::Ptr status(const ControlRequest&) const {
        PluginOperations::HostView h = _ops.host();
        Object::Ptr counts = new Object;
        for (const auto& [state, n] : h.plugins) counts->set(state, n);
        Object::Ptr r = new Object;
        r->set("phase", h.phase);
        r->set("pid", static_cast<int>(::getpid()));
        r->set("started_at", wallTime(h.startedAt));
        r->set("uptime_seconds", std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - h.startedAt).count());
        r->set("generation", h.generation);
        r->set("config", h.config);
        r->set("plugin_dir", h.pluginDir);
        r->set("plugins", counts);
        r->set("last_reload", h.lastReload ? Poco::Dynamic::Var(h.lastReload) : Poco::Dynamic::Var());
        Object::Ptr held;  // null unless a load or unload hung: no plugin can be (un)loaded until a restart
        if (h.hungLoad) {
            held = new Object;
            held->set("plugin", h.hungLoad->plugin);
            held->set("call", h.hungLoad->call);
            held->set("content", h.hungLoad->content);
        }
        r->set("loader_held_by", held ? Poco::Dynamic::Var(held) : Poco::Dynamic::Var());
        return r;
    }

    Object::Ptr list(const ControlRequest&) const {
        Array::Ptr plugins = new Array;
        for (const auto& p : _ops.plugins()) {
            Object::Ptr o = new Object;
            o->set("name", p.name);
            o->set("state", p.state);
            o->set("reason", p.reason);
            o->set("version", p.version);
            o->set("file", p.file);
            o->set("content", p.content);
            o->set("isolation", p.isolation);
            o->set("runner_pid", p.runnerPid);
            o->set("loaded_since", p.loadedSince ? wallTime(*p.loadedSince) : "");
            o->set("last_error", p.lastError);
            o->set("last_error_at", p.lastError.empty() ? "" : wallTime(p.lastErrorAt));
            o->set("dependencies", toArray(p.dependencies));
            o->set("quarantine_reason", p.quarantined ? p.reason : "");
            o->set("quarantined_since", p.quarantined ? wallTime(p.quarantinedSince) : "");
            plugins->add(o);
        }
        Object::Ptr r = new Object;
        r->set("plugins", plugins);
        return r;
    }

    Object::Ptr reload(const ControlRequest& r) const {
        if (r.plugin.empty()) {
            mayChange(r);
            Object::Ptr out = new Object;
            out->set("generation", _ops.reloadConfiguration("hostctl reload"));
            return out;
        }
        return onPlugin(r, &PluginOperations::reloadPlugin);
    }

    using Operation = PluginOperations::Accepted (PluginOperations::*)(const std::string&);

    Object::Ptr onPlugin(const ControlRequest& r, Operation operation) const {
        std::string name = installed(r);
        mayChange(r);
        return reply((_ops.*operation)(name));
    }

    Object::Ptr logLevel(const ControlRequest& r) const {
        auto level = parseLevel(r.level);
        if (!level) throw ControlError("unknown log level '" + utf8Prefix(r.level, 64) + "' (error, warning, notice, info, debug)");
        if (!r.plugin.empty() && !_ops.installed(r.plugin) && !(isValidPluginName(r.plugin) && _ops.configured(r.plugin)))
            throw ControlError("unknown plugin " + utf8Prefix(r.plugin, 200));
        mayChange(r);
        if (r.plugin.empty())
            Log::setLevel(*level);
        else
            Log::setPluginLevel(r.plugin, *level);
        // Written at Notice so that it shows at any level but error, including the one just set.
        HOSTD_LOG(Notice, r.plugin, "log level set until the next configuration reload",
                  {"level", std::string(levelName(*level))});
        Object::Ptr out = new Object;
        out->set("level", std::string(levelName(*level)));
        if (!r.plugin.empty()) out->set("plugin", r.plugin);
        return out;
    }

private:
    /// The request's plugin, which must be installed; throws ControlError if not given or unknown.
    std::string installed(const ControlRequest& r) const {
        if (r.plugin.empty()) throw ControlError(r.cmd + " needs a plugin name");
        if (!isValidPluginName(r.plugin) || !_ops.installed(r.plugin))
            throw ControlError("unknown plugin " + utf8Prefix(r.plugin, 200));
        return r.plugin;
    }

    /// Refuses changes while draining; audits the command (who changed what, at any log level).
    void mayChange(const ControlRequest& r) const {
        if (_ops.draining()) throw ControlError("hostd is draining; nothing can be changed");
        HOSTD_AUDIT(r.plugin.empty() ? "" : r.plugin, "control command", {"cmd", r.cmd},
                    {"peer_pid", std::to_string(r.peer.pid)}, {"peer_uid", std::to_string(r.peer.uid)});
    }

    PluginOperations& _ops;
};

}  // namespace

void addHostctlCommands(ControlCommands& commands, PluginOperations& operations) {
    auto c = std::make_shared<Commands>(operations);
    commands.add("status", [c](const ControlRequest& r) { return c->status(r); });
    commands.add("list", [c](const ControlRequest& r) { return c->list(r); });
    commands.add("reload", [c](const ControlRequest& r) { return c->reload(r); });
    commands.add("start", [c](const ControlRequest& r) { return c->onPlugin(r, &PluginOperations::startPlugin); });
    commands.add("stop", [c](const ControlRequest& r) { return c->onPlugin(r, &PluginOperations::stopPlugin); });
    commands.add("restart", [c](const ControlRequest& r) { return c->onPlugin(r, &PluginOperations::restartPlugin); });
    commands.add("log-level", [c](const ControlRequest& r) { return c->logLevel(r); });
    commands.add("top", [](const ControlRequest&) {
        // The same per-plugin view as /debug/plugins, from /proc/self and the status board.
        return Poco::JSON::Parser().parse(pluginUsageJson(pluginUsage())).extract<Object::Ptr>();
    });
}

}  // namespace hostd
