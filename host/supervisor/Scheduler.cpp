// The Scheduler: which plugin starts or stops next, the calls themselves, and what their
// results change.
#include "Scheduler.h"

#include "Log.h"
#include "StatusBoard.h"
#include "SupervisorInternal.h"

#include <algorithm>
#include <set>

namespace hostd {

using detail::joined;
using detail::millis;

Plugin* Scheduler::find(const std::string& name) {
    auto it = _plugins.find(name);
    return it == _plugins.end() ? nullptr : it->second.get();
}

Plugin& Scheduler::record(const std::string& name, const std::string& path) {
    auto& slot = _plugins[name];
    if (!slot) {
        slot = std::make_unique<Plugin>();
        slot->name = name;
        slot->path = path;
        slot->service = &ServiceContext::of(name);
        slot->state = PluginState::Invalid;
    }
    return *slot;
}

Plugin* Scheduler::findByCall(std::uint64_t id) {
    auto it = _callers.find(id);
    if (it == _callers.end()) return nullptr;
    Plugin* p = find(it->second);
    _callers.erase(it);  // a call completes once
    return p != nullptr && p->callId == id ? p : nullptr;
}

void Scheduler::takeCompletions() {
    for (auto& c : _ctx.executor.takeCompleted()) _completions.push_back(std::move(c));
    applyCompletions();
    schedule();  // once for the batch: a cold start completes hundreds of starts at once
}

void Scheduler::applyCompletions() {
    // One at a time off a member queue: if applying one hangs in a plugin's unload, the thread
    // that takes the loop over finds the rest here.
    while (!_completions.empty()) {
        auto [id, result] = std::move(_completions.front());
        _completions.pop_front();
        onCompleted(id, std::move(result));
    }
}

void Scheduler::beginDrain() { scheduleDrain(); }

void Scheduler::scheduleDrain() {
    refreshGraph();
    std::set<std::string> active;
    for (const auto& [name, p] : _plugins)
        if (p->active()) active.insert(name);
    if (active.empty()) {
        _ctx.allStopped();
        return;
    }
    for (const auto& name : _graph.stoppable(active, {})) {
        Plugin& p = *find(name);
        if (p.state == PluginState::Running) submitStop(p);
    }
}

std::optional<Clock::time_point> Scheduler::nextDeadline() const {
    Clock::time_point next = Clock::time_point::max();
    for (const auto& [_, p] : _plugins) {
        if (p->busy()) next = std::min(next, p->callDeadline);
        if (p->state == PluginState::Failed) next = std::min(next, p->retryAt);
    }
    if (next == Clock::time_point::max()) return std::nullopt;
    return next;
}

void Scheduler::refreshGraph() {
    // Rebuilt at most once per batch of changes: a scan of n files would otherwise rebuild
    // (and search for cycles) n times.
    if (!_graphDirty) return;
    _graphDirty = false;
    _graph = DependencyGraph();
    for (const auto& [name, p] : _plugins)
        if (p->image) _graph.set(name, p->dependencies);
    std::map<std::string, std::string> cycles;
    for (const auto& cycle : _graph.cycles()) {
        std::string text = joined(cycle, " -> ") + " -> " + cycle.front();
        for (const auto& n : cycle) cycles[n] = text;
        if (!_cycles.count(cycle.front()))
            HOSTD_LOG(Error, "", "dependency cycle; the plugins on it are not started", {"cycle", text});
    }
    _cycles = std::move(cycles);
}

void Scheduler::resolveDependencies(Plugin& p) {
    std::vector<std::string> deps = p.image ? p.image->dependencies() : std::vector<std::string>{};
    if (const PluginSection* s = config().plugin(p.name)) deps.insert(deps.end(), s->dependencies.begin(), s->dependencies.end());
    std::sort(deps.begin(), deps.end());
    deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
    p.dependencies = std::move(deps);
}

void Scheduler::apply(Plugin& p, LifecycleEvent event, std::string reason) {
    std::optional<PluginState> next = transition(p.state, event);
    if (!next) {
        HOSTD_LOG(Error, p.name, "internal error: the lifecycle has no such transition; the plugin stays where it is",
                  {"state", std::string(stateName(p.state))}, {"event", std::string(eventName(event))});
        return;
    }
    PluginState state = *next;
    p.state = state;
    p.reason = std::move(reason);
    if (state == PluginState::Failed || state == PluginState::Invalid || state == PluginState::Stuck ||
        state == PluginState::Quarantined) {
        p.lastError = p.reason;
        p.lastErrorAt = Clock::now();
    }
    StatusBoard::instance().pluginState(p.name, p.state, p.reason);
}

bool Scheduler::evaluateWaiting(Plugin& p) {
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
    apply(p, d.state == PluginState::Loaded    ? LifecycleEvent::DependenciesStarting
             : d.state == PluginState::Pending ? LifecycleEvent::DependencyMissing
                                               : LifecycleEvent::DependencyBlocked,
          d.reason);
    if (d.state == PluginState::Pending)
        HOSTD_LOG(Warning, p.name, "pending", {"reason", p.reason}, {"file", p.path});
    else if (d.state == PluginState::Blocked)
        HOSTD_LOG(Error, p.name, "not started", {"reason", p.reason}, {"file", p.path});
    return true;
}

void Scheduler::startIfReady(Plugin& p) {
    // Starts a freshly loaded plugin at once if everything it requires already runs, so a scan of
    // many files starts each one as it loads instead of after the last. Anything else (missing or
    // pending dependencies, cycles) is decided by schedule() once the batch is done: a plugin
    // whose dependencies all run cannot be on a cycle.
    if (draining() || p.state != PluginState::Loaded) return;
    for (const auto& dep : p.dependencies) {
        Plugin* d = find(dep);
        if (d == nullptr || (d->state != PluginState::Running && d->state != PluginState::Reloading)) return;
    }
    submitStart(p);
}

void Scheduler::schedule() {
    refreshGraph();
    if (draining()) {
        scheduleDrain();
        return;
    }
    if (_ctx.phase == HostPhase::Done) return;
    scheduleStops();
    for (bool changed = true; changed;) {
        changed = false;
        for (auto& [_, p] : _plugins) {
            if (p->afterStop != AfterStop::None) continue;  // on its way down
            if (p->state == PluginState::Loaded || p->state == PluginState::Pending || p->state == PluginState::Blocked)
                changed |= evaluateWaiting(*p);
            else if (needsReload(*p))
                submitReload(*p);
        }
    }
    _ctx.scheduled();
}

void Scheduler::requestStop(Plugin& p, AfterStop action, std::string_view restartReason) {
    // Remove and Replace win over the milder actions a plugin may already have pending.
    refreshGraph();
    if (p.afterStop == AfterStop::None || p.afterStop == AfterStop::Restart || action == AfterStop::Remove ||
        action == AfterStop::Replace) {
        p.afterStop = action;
        if (action == AfterStop::Restart) p.restartReason = restartReason;
    }
    // Everything that (transitively) requires p stops first and restarts once p is back.
    std::vector<std::string> todo{p.name};
    while (!todo.empty()) {
        std::string n = todo.back();
        todo.pop_back();
        for (const auto& dep : _graph.dependents(n)) {
            Plugin* d = find(dep);
            if (d == nullptr || !d->active() || d->afterStop != AfterStop::None) continue;
            d->afterStop = AfterStop::Restart;
            d->restartReason = "dependency";
            todo.push_back(dep);
        }
    }
}

void Scheduler::scheduleStops() {
    std::set<std::string> leaving;
    for (auto& [name, p] : _plugins) {
        if (p->afterStop == AfterStop::None) continue;
        if (p->active())
            leaving.insert(name);
        else if (p->state != PluginState::Stuck)
            applyAfterStop(*p);  // never started (or already stopped): nothing to wait for
    }
    for (const auto& name : _graph.stoppable(leaving, {})) {
        Plugin* p = find(name);
        if (p != nullptr && p->state == PluginState::Running) submitStop(*p);
    }
}

void Scheduler::applyAfterStop(Plugin& p) {
    AfterStop action = std::exchange(p.afterStop, AfterStop::None);
    switch (action) {
    case AfterStop::None:
        return;
    case AfterStop::Restart:
        if (!p.image) return;
        StatusBoard::instance().pluginRestarted(p.name, p.restartReason.empty() ? "operator" : p.restartReason);
        apply(p, LifecycleEvent::RestartAfterStop);
        return;
    case AfterStop::Replace:
        p.previous = std::move(p.image);
        p.image = std::move(p.candidate);
        p.since = Clock::now();
        resolveDependencies(p);
        apply(p, LifecycleEvent::UpgradeAfterStop);
        rebuildGraph();
        return;
    case AfterStop::Fail:
        apply(p, LifecycleEvent::FailAfterStop, p.reportedFailure);
        _recovery.noteFailure(p, p.reportedFailure);
        return;
    case AfterStop::Hold:
        p.retryAt = Clock::time_point::max();  // a failed plugin's pending restart is cancelled too
        apply(p, LifecycleEvent::HoldAfterStop, "stopped by an operator (hostctl stop)");
        return;
    case AfterStop::Disable:
        unloadImage(p, std::move(p.image));
        unloadImage(p, std::move(p.candidate));
        unloadImage(p, std::move(p.previous));
        apply(p, LifecycleEvent::DisableAfterStop, "enabled = false");
        rebuildGraph();
        return;
    case AfterStop::Remove: {
        unloadImage(p, std::move(p.image));
        unloadImage(p, std::move(p.candidate));
        unloadImage(p, std::move(p.previous));
        HOSTD_LOG(Info, p.name, "removed", {"file", p.path});
        if (p.stale) {  // keep the record: the stale image still blocks a reinstall under this name
            apply(p, LifecycleEvent::RemoveAfterStop, "file removed");
            return;
        }
        std::string name = p.name;
        _plugins.erase(name);  // p is gone from here on
        StatusBoard::instance().forget(name);
        rebuildGraph();
        return;
    }
    }
}

void Scheduler::unloadImage(Plugin& p, std::unique_ptr<PluginCode> image) {
    if (!_ctx.executor.unload(p.name, std::move(image), config().host.loadTimeout)) p.stale = true;
}

Millis Scheduler::timeout(const Plugin& p, std::string_view call) const {
    const PluginSection* s = config().plugin(p.name);
    if (call == "start") return s && s->startTimeout ? *s->startTimeout : config().host.startTimeout;
    if (call == "reload") return s && s->reloadTimeout ? *s->reloadTimeout : config().host.reloadTimeout;
    return s && s->stopTimeout ? *s->stopTimeout : config().host.pluginStopTimeout;
}

void Scheduler::submit(Plugin& p, PluginCall call, Clock::time_point deadline) {
    static constexpr LifecycleEvent kCalled[] = {LifecycleEvent::StartCalled, LifecycleEvent::ReloadCalled,
                                                 LifecycleEvent::StopCalled};
    apply(p, kCalled[static_cast<int>(call)], p.reason);
    p.callName = callName(call);
    p.callStarted = Clock::now();
    p.callDeadline = deadline;
    if (_ctx.phase == HostPhase::Starting && call == PluginCall::Start) _ctx.notifier.extendStartupUntil(deadline);
    if (call == PluginCall::Start) p.service->open();
    try {
        p.callId = _ctx.executor.call(call, *p.image, {p.name, &p.service->context, _ctx.config, deadline});
        _callers[p.callId] = p.name;
    } catch (const std::exception& e) {
        // No thread: the call fails at once, through the normal completion path.
        p.callId = UINT64_MAX;
        _callers[p.callId] = p.name;
        onCompleted(UINT64_MAX, CallResult{HOSTD_ERR_UNAVAILABLE, std::string("cannot create a thread: ") + e.what(), {}});
        schedule();
    }
}

void Scheduler::submitStart(Plugin& p) {
    p.appliedConfig = _ctx.config;
    HOSTD_LOG(Debug, p.name, "starting", {"file", p.path});
    submit(p, PluginCall::Start, Clock::now() + timeout(p, "start"));
}

void Scheduler::submitReload(Plugin& p) {
    p.appliedConfig = _ctx.config;
    if (!p.image->hasReload()) {
        HOSTD_LOG(Info, p.name, "configuration changed; plugin has no reload callback, new values apply at its next start");
        return;
    }
    submit(p, PluginCall::Reload, Clock::now() + timeout(p, "reload"));
}

void Scheduler::submitStop(Plugin& p) {
    Clock::time_point deadline = std::min(Clock::now() + timeout(p, "stop"), _ctx.drainDeadline);
    HOSTD_LOG(Info, p.name, "stopping", {"deadline_ms", ms(millis(deadline - Clock::now()))});
    submit(p, PluginCall::Stop, deadline);
}

bool Scheduler::needsReload(const Plugin& p) const {
    if (p.state != PluginState::Running || p.appliedConfig == _ctx.config || draining()) return false;
    const PluginSection* before = p.appliedConfig ? p.appliedConfig->plugin(p.name) : nullptr;
    const PluginSection* after = config().plugin(p.name);
    if (before == nullptr && after == nullptr) return false;
    if (before == nullptr || after == nullptr) return true;
    return !before->sameSettings(*after);
}

void Scheduler::onStartCompleted(Plugin& p, const CallResult& r) {
    std::string took = ms(millis(r.duration));
    if (r.code == HOSTD_OK) {
        apply(p, LifecycleEvent::StartSucceeded);
        HOSTD_LOG(Info, p.name, "started", {"file", p.path}, {"version", p.image->version()}, {"duration_ms", took});
        if (p.previous) {
            HOSTD_LOG(Notice, p.name, "upgraded", {"from_content", p.previous->content()}, {"to_content", p.image->content()},
                      {"from_version", p.previous->version()}, {"to_version", p.image->version()});
            unloadImage(p, std::move(p.previous));
        }
        return;
    }
    p.service->close();  // a failed start leaves nothing running (plugin.h)
    std::string error = describeFailure(r);
    if (p.previous) {
        // An upgrade whose new image does not start: the old one runs again.
        HOSTD_LOG(Error, p.name, "upgrade failed: the new image did not start; rolling back to the previous image",
                  {"error", error}, {"content", p.image->content()}, {"duration_ms", took});
        p.rejected = p.image->content();
        unloadImage(p, std::move(p.image));
        p.image = std::move(p.previous);
        resolveDependencies(p);
        apply(p, LifecycleEvent::UpgradeRolledBack);
        rebuildGraph();
        return;
    }
    apply(p, LifecycleEvent::StartFailed, error);
    HOSTD_LOG(Error, p.name, "start failed", {"file", p.path}, {"error", p.reason}, {"duration_ms", took});
    _recovery.noteFailure(p, error);
}

void Scheduler::onCompleted(std::uint64_t id, CallResult r) {
    Plugin* pp = findByCall(id);
    if (pp == nullptr) return;
    Plugin& p = *pp;
    std::string took = ms(millis(r.duration));
    StatusBoard::instance().callCompleted(p.name, p.callName, r.duration, r.code == HOSTD_OK);
    if (p.state == PluginState::Stuck) {
        HOSTD_LOG(Warning, p.name, "abandoned call returned after its deadline; the plugin stays abandoned",
                  {"call", std::string(p.callName)}, {"duration_ms", took});
        return;
    }
    p.callId = 0;
    p.callDeadline = Clock::time_point::max();
    switch (p.state) {
    case PluginState::Starting:
        onStartCompleted(p, r);
        break;
    case PluginState::Reloading:
        apply(p, LifecycleEvent::ReloadDone);
        if (r.code == HOSTD_OK)
            HOSTD_LOG(Info, p.name, "reloaded", {"duration_ms", took});
        else
            HOSTD_LOG(Error, p.name, "reload refused; the plugin keeps running with its previous configuration",
                      {"error", describeFailure(r)}, {"duration_ms", took});
        break;
    case PluginState::Stopping:
        p.service->close();
        if (r.code == HOSTD_OK) {
            apply(p, LifecycleEvent::StopDone);
            HOSTD_LOG(Info, p.name, "stopped", {"duration_ms", took});
        } else {
            if (draining()) _stopFailed = true;
            apply(p, LifecycleEvent::StopDone, describeFailure(r));
            HOSTD_LOG(Error, p.name, "stop failed", {"error", p.reason}, {"duration_ms", took});
        }
        if (!draining()) applyAfterStop(p);  // may erase p
        break;
    default:
        break;
    }
}

}  // namespace hostd
