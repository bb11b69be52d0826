#include "Supervisor.h"

#include "ExitCode.h"
#include "Log.h"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <set>

namespace hostd {

namespace {

double millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string signalName(int sig) {
    const char* abbrev = sigabbrev_np(sig);
    return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::string joined(const std::vector<std::string>& items, const char* sep = ", ") {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
    return out;
}

/// Runs one plugin callback, turning anything that escapes it into a result.
template <class F>
CallResult invoke(F&& callback) {
    char buf[1024];
    buf[0] = '\0';
    hostd_type_message message{buf, sizeof buf};
    CallResult result;
    try {
        result.code = callback(&message);
    } catch (...) {
        // A plugin that lets an exception cross the C ABI is broken, but must not take the
        // host down when the unwinder can get here.
        result.code = HOSTD_ERR_EXCEPTION;
        std::snprintf(buf, sizeof buf, "%s", "exception escaped the plugin's C ABI callback");
    }
    buf[sizeof buf - 1] = '\0';
    result.message = buf;
    return result;
}

std::string describeFailure(const CallResult& r) {
    std::string code;
    switch (r.code) {
    case HOSTD_ERR_FAILED: code = "failed"; break;
    case HOSTD_ERR_CONFIG: code = "configuration error"; break;
    case HOSTD_ERR_EXCEPTION: code = "exception"; break;
    case HOSTD_ERR_UNAVAILABLE: code = "unavailable"; break;
    default: code = "error code " + std::to_string(static_cast<int>(r.code)); break;
    }
    return r.message.empty() ? code : code + ": " + r.message;
}

}  // namespace

Supervisor::Supervisor(ConfigPtr config, ConfigSource source) : _config(std::move(config)), _source(std::move(source)) {
    _loop.add(_signals.fd(), [this] {
        while (auto sig = _signals.read()) onSignal(*sig);
    });
    _loop.add(_calls.fd(), [this] {
        for (auto& [id, result] : _calls.takeCompleted()) onCompleted(id, std::move(result));
    });
}

Supervisor::~Supervisor() = default;

std::string Supervisor::pluginDir() const { return _source.pluginDir ? *_source.pluginDir : _config->host.pluginDir; }

Plugin* Supervisor::find(const std::string& name) {
    auto it = _plugins.find(name);
    return it == _plugins.end() ? nullptr : it->second.get();
}

Plugin* Supervisor::findByCall(std::uint64_t id) {
    for (auto& [_, p] : _plugins)
        if (p->callId == id) return p.get();
    return nullptr;
}

int Supervisor::run() {
    HOSTD_LOG(Info, "", "starting", {"plugin_dir", pluginDir()}, {"config", joined(_config->files)},
              {"pid", std::to_string(::getpid())});
    loadAll();
    rebuildGraph();
    schedule();
    while (_phase != Phase::Done) {
        _loop.runOnce(nextDeadline());
        checkDeadlines();
    }
    return finish();
}

void Supervisor::loadAll() {
    PluginDirectory dir(pluginDir());
    std::string error;
    if (!dir.open(error)) {
        HOSTD_LOG(Warning, "", "plugin directory cannot be opened; running with no plugins", {"path", dir.path()},
                  {"error", error});
        return;
    }
    std::vector<std::string> ignored;
    for (const auto& name : dir.scan(ignored)) loadPlugin(dir, name);
    for (const auto& path : ignored) HOSTD_LOG(Warning, "", "ignoring file: plugin names are [A-Za-z0-9_-]+", {"path", path});
    for (const auto& [name, section] : _config->plugins)
        if (!find(name) && section.enabled)
            HOSTD_LOG(Warning, name, "configured plugin has no file", {"path", dir.filePath(name)},
                      {"config", section.origin.str()});
}

void Supervisor::loadPlugin(const PluginDirectory& dir, const std::string& name) {
    auto p = std::make_unique<Plugin>();
    p->name = name;
    p->path = dir.filePath(name);
    p->context = {sizeof(hostd_type_context), 0, {p->name.c_str(), p->name.size()}, hostServices(), p.get()};
    const PluginSection* section = _config->plugin(name);
    if (section != nullptr && !section->enabled) {
        p->state = PluginState::Disabled;
        HOSTD_LOG(Info, name, "disabled by configuration; not loaded", {"file", p->path},
                  {"config", section->origin.str()});
        _plugins.emplace(name, std::move(p));
        return;
    }
    try {
        p->image = PluginImage::load(dir.fd(), name + ".so", TrustPolicy{_config->host.allowSymlinks});
        std::vector<std::string> dependencies = p->image->dependencies();
        for (const auto& r : dependencies)
            if (!isValidPluginName(r) || r == name)
                throw LoadError("descriptor requires an invalid plugin name '" + r + "'");
        if (section != nullptr) dependencies.insert(dependencies.end(), section->dependencies.begin(), section->dependencies.end());
        std::sort(dependencies.begin(), dependencies.end());
        dependencies.erase(std::unique(dependencies.begin(), dependencies.end()), dependencies.end());
        p->dependencies = std::move(dependencies);
        HOSTD_LOG(Info, name, "loaded", {"file", p->path}, {"version", p->image->version()},
                  {"sha256", p->image->sha256()}, {"size", std::to_string(p->image->size())},
                  {"requires", joined(p->dependencies, ",")}, {"duration_ms", ms(millis(p->image->loadDuration()))});
    } catch (const LoadError& e) {
        p->image.reset();
        p->state = PluginState::Invalid;
        p->reason = e.what();
        HOSTD_LOG(Error, name, "cannot load plugin", {"file", p->path}, {"error", e.what()});
    }
    _plugins.emplace(name, std::move(p));
}

void Supervisor::rebuildGraph() {
    _graph = DependencyGraph();
    for (const auto& [name, p] : _plugins)
        if (p->image) _graph.set(name, p->dependencies);
    _cycles.clear();
    for (const auto& cycle : _graph.cycles()) {
        std::string text = joined(cycle, " -> ") + " -> " + cycle.front();
        for (const auto& n : cycle) _cycles[n] = text;
        HOSTD_LOG(Error, "", "dependency cycle; the plugins on it are not started", {"cycle", text});
    }
}

void Supervisor::setState(Plugin& p, PluginState state, std::string reason) {
    p.state = state;
    p.reason = std::move(reason);
}

bool Supervisor::evaluateWaiting(Plugin& p) {
    // Decides what a loaded, not yet started plugin does next. Returns true if anything changed.
    std::vector<DependencyState> deps;
    for (const auto& name : p.dependencies) {
        Plugin* dep = find(name);
        deps.push_back({name, dep ? std::optional<PluginState>(dep->state) : std::nullopt});
    }
    auto cycle = _cycles.find(p.name);
    StartDecision d = decideStart(deps, cycle == _cycles.end() ? std::string() : cycle->second);
    if (d.start) {
        submitStart(p);
        return true;
    }
    if (d.state == p.state && d.reason == p.reason) return false;
    setState(p, d.state, d.reason);
    if (d.state == PluginState::Pending)
        HOSTD_LOG(Warning, p.name, "pending", {"reason", p.reason}, {"file", p.path});
    else if (d.state == PluginState::Blocked)
        HOSTD_LOG(Error, p.name, "not started", {"reason", p.reason}, {"file", p.path});
    return true;
}

void Supervisor::schedule() {
    if (_phase == Phase::Draining) {
        scheduleDrain();
        return;
    }
    if (_phase == Phase::Done) return;
    for (bool changed = true; changed;) {
        changed = false;
        for (auto& [_, p] : _plugins) {
            if (p->state == PluginState::Loaded || p->state == PluginState::Pending || p->state == PluginState::Blocked)
                changed |= evaluateWaiting(*p);
            else if (needsReload(*p))
                submitReload(*p);
        }
    }
    reportReadyOnce();
}

void Supervisor::reportReadyOnce() {
    if (_phase != Phase::Starting) return;
    std::map<PluginState, int> counts;
    for (const auto& [_, p] : _plugins) {
        if (p->state == PluginState::Starting) return;
        counts[p->state]++;
    }
    _phase = Phase::Running;
    int failed = counts[PluginState::Failed] + counts[PluginState::Invalid];
    _notifier.ready("running " + std::to_string(counts[PluginState::Running]) + " plugins, " + std::to_string(failed) +
                    " failed");
    HOSTD_LOG(Notice, "", "ready", {"running", std::to_string(counts[PluginState::Running])},
              {"failed", std::to_string(failed)},
              {"pending", std::to_string(counts[PluginState::Pending])},
              {"blocked", std::to_string(counts[PluginState::Blocked])},
              {"disabled", std::to_string(counts[PluginState::Disabled])});
}

void Supervisor::submit(Plugin& p, PluginState busyState, std::string_view callName, Clock::time_point deadline,
                        CallRunner::Job job) {
    p.state = busyState;
    p.callName = callName;
    p.callStarted = Clock::now();
    p.callDeadline = deadline;
    try {
        p.callId = _calls.submit(std::move(job));
    } catch (const std::exception& e) {
        // No thread: treat as the call failing at once, through the normal completion path.
        p.callId = 0;
        CallResult r{HOSTD_ERR_UNAVAILABLE, std::string("cannot create a thread: ") + e.what(), {}};
        p.callId = UINT64_MAX;
        onCompleted(UINT64_MAX, std::move(r));
    }
}

void Supervisor::submitStart(Plugin& p) {
    auto config = std::make_shared<CallConfig>(_config, p.name);
    p.appliedConfig = _config;
    const hostd_type_descriptor* d = &p.image->descriptor();
    const hostd_type_context* ctx = &p.context;
    HOSTD_LOG(Debug, p.name, "starting", {"file", p.path});
    submit(p, PluginState::Starting, "start", Clock::time_point::max(), [d, ctx, config] {
        return invoke([&](hostd_type_message* m) { return d->start(d->instance, ctx, config->get(), m); });
    });
}

void Supervisor::submitReload(Plugin& p) {
    p.appliedConfig = _config;
    if (!p.image->hasReload()) {
        HOSTD_LOG(Info, p.name, "configuration changed; plugin has no reload callback, new values apply at its next start");
        return;
    }
    auto config = std::make_shared<CallConfig>(_config, p.name);
    const hostd_type_descriptor* d = &p.image->descriptor();
    const hostd_type_context* ctx = &p.context;
    submit(p, PluginState::Reloading, "reload", Clock::time_point::max(), [d, ctx, config] {
        return invoke([&](hostd_type_message* m) { return d->reload(d->instance, ctx, config->get(), m); });
    });
}

void Supervisor::submitStop(Plugin& p) {
    const PluginSection* section = _config->plugin(p.name);
    Millis budget = section != nullptr && section->stopTimeout ? *section->stopTimeout : _config->host.pluginStopTimeout;
    Clock::time_point deadline = std::min(Clock::now() + budget, _drainDeadline);
    auto deadlineNs = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
    const hostd_type_descriptor* d = &p.image->descriptor();
    const hostd_type_context* ctx = &p.context;
    HOSTD_LOG(Info, p.name, "stopping", {"deadline_ms", ms(millis(deadline - Clock::now()))});
    submit(p, PluginState::Stopping, "stop", deadline, [d, ctx, deadlineNs] {
        return invoke([&](hostd_type_message* m) { return d->stop(d->instance, ctx, deadlineNs, m); });
    });
}

bool Supervisor::needsReload(const Plugin& p) const {
    if (p.state != PluginState::Running || p.appliedConfig == _config || _phase == Phase::Draining) return false;
    const PluginSection* before = p.appliedConfig ? p.appliedConfig->plugin(p.name) : nullptr;
    const PluginSection* after = _config->plugin(p.name);
    if (before == nullptr && after == nullptr) return false;
    if (before == nullptr || after == nullptr) return true;
    return !before->sameSettings(*after);
}

void Supervisor::onCompleted(std::uint64_t id, CallResult r) {
    Plugin* pp = findByCall(id);
    if (pp == nullptr) return;
    Plugin& p = *pp;
    std::string took = ms(millis(r.duration));
    if (p.state == PluginState::Stuck) {
        HOSTD_LOG(Warning, p.name, "abandoned call returned after its deadline; the plugin stays abandoned",
                  {"call", std::string(p.callName)}, {"duration_ms", took});
        return;
    }
    p.callId = 0;
    p.callDeadline = Clock::time_point::max();
    bool ok = r.code == HOSTD_OK;
    switch (p.state) {
    case PluginState::Starting:
        if (ok) {
            setState(p, PluginState::Running);
            HOSTD_LOG(Info, p.name, "started", {"file", p.path}, {"version", p.image->version()}, {"duration_ms", took});
        } else {
            setState(p, PluginState::Failed, describeFailure(r));
            HOSTD_LOG(Error, p.name, "start failed", {"file", p.path}, {"error", p.reason}, {"duration_ms", took});
        }
        break;
    case PluginState::Reloading:
        setState(p, PluginState::Running);
        if (ok)
            HOSTD_LOG(Info, p.name, "reloaded", {"duration_ms", took});
        else
            HOSTD_LOG(Error, p.name, "reload refused; the plugin keeps running with its previous configuration",
                      {"error", describeFailure(r)}, {"duration_ms", took});
        break;
    case PluginState::Stopping: {
        if (ok) {
            setState(p, PluginState::Stopped);
            HOSTD_LOG(Info, p.name, "stopped", {"duration_ms", took});
        } else {
            _stopFailed = true;
            setState(p, PluginState::Stopped, describeFailure(r));
            HOSTD_LOG(Error, p.name, "stop failed", {"error", p.reason}, {"duration_ms", took});
        }
        if (!p.image->unload())
            HOSTD_LOG(Warning, p.name, "image is still mapped after unload (STB_GNU_UNIQUE symbols, NODELETE, or live "
                      "thread-local destructors)", {"file", p.path});
        break;
    }
    default:
        break;
    }
    schedule();
}

void Supervisor::onSignal(int sig) {
    switch (sig) {
    case SIGTERM:
    case SIGINT:
    case SIGQUIT:
        if (_phase == Phase::Draining) {
            HOSTD_LOG(Error, "", "second termination signal during the drain; exiting now", {"signal", signalName(sig)},
                      {"exit_code", std::to_string(kExitForced)});
            std::_Exit(kExitForced);
        }
        beginDrain(signalName(sig));
        break;
    case SIGHUP:
        if (_phase == Phase::Draining)
            HOSTD_LOG(Notice, "", "SIGHUP ignored while draining");
        else
            reloadConfiguration();
        break;
    default:
        HOSTD_LOG(Debug, "", "signal ignored", {"signal", signalName(sig)});
        break;
    }
}

void Supervisor::beginDrain(std::string_view why) {
    _phase = Phase::Draining;
    setHostStopping(true);
    _drainStarted = Clock::now();
    _drainDeadline = _drainStarted + _config->host.stopTimeout;
    int active = 0;
    for (const auto& [_, p] : _plugins) active += p->active() ? 1 : 0;
    _notifier.stopping("draining " + std::to_string(active) + " plugins (" + std::string(why) + ")");
    HOSTD_LOG(Notice, "", "draining", {"reason", std::string(why)}, {"plugins", std::to_string(active)},
              {"budget", formatDuration(_config->host.stopTimeout)});
    scheduleDrain();
}

void Supervisor::scheduleDrain() {
    std::set<std::string> active;
    for (const auto& [name, p] : _plugins)
        if (p->active()) active.insert(name);
    if (active.empty()) {
        _phase = Phase::Done;
        return;
    }
    for (const auto& name : _graph.stoppable(active, {})) {
        Plugin& p = *find(name);
        if (p.state == PluginState::Running) submitStop(p);
    }
}

std::optional<Clock::time_point> Supervisor::nextDeadline() const {
    Clock::time_point next = _drainDeadline;
    for (const auto& [_, p] : _plugins)
        if (p->busy()) next = std::min(next, p->callDeadline);
    if (next == Clock::time_point::max()) return std::nullopt;
    return next;
}

void Supervisor::checkDeadlines() {
    auto now = Clock::now();
    bool changed = false;
    for (auto& [_, p] : _plugins) {
        if (!p->busy() || p->callDeadline > now) continue;
        Millis budget = std::chrono::round<Millis>(p->callDeadline - p->callStarted);
        HOSTD_LOG(Error, p->name, "call overran its deadline; abandoned, never unloaded",
                  {"call", std::string(p->callName)}, {"deadline", formatDuration(budget)});
        if (p->callName == "stop") _stopTimedOut = true;
        _calls.abandon(p->callId);
        _abandoned = true;
        setState(*p, PluginState::Stuck, std::string(p->callName) + " overran its deadline");
        changed = true;
    }
    if (_phase == Phase::Draining && now >= _drainDeadline) {
        for (auto& [_, p] : _plugins) {
            if (!p->active()) continue;
            HOSTD_LOG(Error, p->name, "not stopped: the drain budget ran out",
                      {"stop_timeout", formatDuration(_config->host.stopTimeout)}, {"state", std::string(stateName(p->state))});
            if (p->busy()) {
                _calls.abandon(p->callId);
                _abandoned = true;
            }
            _stopTimedOut = true;
            setState(*p, PluginState::Stuck, "drain budget ran out");
            changed = true;
        }
    }
    if (changed) schedule();
}

void Supervisor::reloadConfiguration() {
    HOSTD_LOG(Info, "", "reloading configuration", {"config", _source.path});
    _notifier.reloading();
    ConfigLoad load = loadConfig(_source.path, _source.required);
    for (const auto& issue : load.issues)
        Log::write(issue.warning ? Level::Warning : Level::Error, "", issue.str(), {}, __FILE_NAME__, __LINE__);
    if (!load.ok()) {
        HOSTD_LOG(Error, "", "configuration reload failed; keeping the previous configuration",
                  {"errors", std::to_string(load.issues.size())}, {"generation", std::to_string(_generation)});
        _notifier.ready("configuration reload failed; running on generation " + std::to_string(_generation));
        return;
    }
    ConfigPtr old = std::exchange(_config, load.config);
    ++_generation;
    if (auto level = parseLevel(_config->host.logLevel)) Log::setLevel(*level);
    if (old->host.pluginDir != _config->host.pluginDir && !_source.pluginDir)
        HOSTD_LOG(Warning, "", "plugin_dir changed; takes effect at restart", {"plugin_dir", old->host.pluginDir});
    for (const auto& [name, p] : _plugins) {
        const PluginSection* a = old->plugin(name);
        const PluginSection* b = _config->plugin(name);
        bool enabledA = a == nullptr || a->enabled, enabledB = b == nullptr || b->enabled;
        auto reqA = a ? a->dependencies : std::vector<std::string>{}, reqB = b ? b->dependencies : std::vector<std::string>{};
        if (enabledA != enabledB || reqA != reqB)
            HOSTD_LOG(Warning, name, "change of enabled/requires takes effect at restart");
    }
    HOSTD_LOG(Notice, "", "configuration reloaded", {"generation", std::to_string(_generation)});
    _notifier.ready("configuration generation " + std::to_string(_generation));
    schedule();
}

int Supervisor::finish() {
    auto took = Clock::now() - _drainStarted;
    int code = _stopTimedOut ? kExitStopTimeout : _stopFailed ? kExitStopFailed : kExitOk;
    for (auto& [_, p] : _plugins)
        if (p->image && p->state != PluginState::Stuck) p->image->unload();
    HOSTD_LOG(Notice, "", "drained", {"duration_ms", ms(millis(took))}, {"exit_code", std::to_string(code)});
    return code;
}

}  // namespace hostd
