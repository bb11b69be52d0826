// What happens when plugins fail: see Recovery.h.
#include "Recovery.h"

#include "Log.h"
#include "Scheduler.h"
#include "StatusBoard.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

namespace hostd {

namespace {

/// hostd_plugin_restarts_total's reason for a failure, from what the executor or the plugin said.
std::string failureKind(const std::string& error) {
    if (error.starts_with("reported failure")) return "reported";  // the plugin's own words follow: never read
    // What the process executor says of a runner's end (ended()), as the failure or a failed
    // call's message ("failed: " first); anything else is the plugin's own failure.
    std::string_view said = error;
    if (said.starts_with("failed: ")) said.remove_prefix(8);
    if (!said.starts_with("its runner ")) return "failed";
    said.remove_prefix(11);
    if (said.starts_with("was killed by seccomp")) return "seccomp";
    if (said.starts_with("crashed")) return "crashed";
    if (said.starts_with("exited")) return "exited";
    if (said.starts_with("was killed")) return "killed";
    return "failed";
}

}  // namespace

void Recovery::reportedFailure(const FailureReport& report) {
    const std::string& name = report.plugin;
    Plugin* p = _scheduler.find(name);
    if (p == nullptr || _scheduler.draining()) return;
    if (p->state != PluginState::Running && p->state != PluginState::Reloading) {
        HOSTD_LOG(Debug, name, "failure report ignored: the plugin is not running", {"error", report.message});
        return;
    }
    if (report.runnerEnded)
        HOSTD_LOG(Error, name, report.message + "; restarting it", {"isolation", "process"});
    else
        HOSTD_LOG(Error, name, "plugin reported a failure; restarting it", {"error", report.message});
    p->reportedFailure = report.runnerEnded ? report.message : "reported failure: " + report.message;
    _scheduler.requestStop(*p, AfterStop::Fail);
    _scheduler.schedule();
}

void Recovery::checkDeadlines(Clock::time_point now) {
    bool changed = false;
    for (auto& [_, p] : _scheduler.plugins()) {
        if (!p->busy() || p->callDeadline > now) continue;
        Millis budget = std::chrono::round<Millis>(p->callDeadline - p->callStarted);
        if (p->callName == "stop") _scheduler.markStopTimedOut();  // never stopped cleanly, whenever it was
        // An isolated plugin's runner is killed: the call completes, failed, and the plugin is
        // failed, not stuck.
        std::string killed = "killed: its " + std::string(p->callName) + " overran its deadline (" + formatDuration(budget) + ")";
        if (_scheduler.context().executor.kill(p->callId, killed)) {
            HOSTD_LOG(Error, p->name, "call overran its deadline; its runner is killed", {"call", std::string(p->callName)},
                      {"deadline", formatDuration(budget)});
            p->callDeadline = Clock::time_point::max();
            continue;
        }
        HOSTD_LOG(Error, p->name, "call overran its deadline; abandoned, never unloaded",
                  {"call", std::string(p->callName)}, {"deadline", formatDuration(budget)});
        _scheduler.context().executor.abandon(p->callId);
        _scheduler.markAbandoned();
        _scheduler.apply(*p, LifecycleEvent::CallOverran, std::string(p->callName) + " overran its deadline");
        changed = true;
    }
    for (auto& [_, p] : _scheduler.plugins()) {
        if (p->state != PluginState::Failed || p->retryAt > now || _scheduler.draining()) continue;
        p->retryAt = Clock::time_point::max();
        HOSTD_LOG(Info, p->name, "restarting after backoff", {"failures", std::to_string(p->failures.size())});
        StatusBoard::instance().pluginRestarted(p->name, p->restartReason);
        _scheduler.apply(*p, LifecycleEvent::BackoffOver);
        changed = true;
    }
    if (_scheduler.draining() && now >= _scheduler.context().drainDeadline) {
        for (auto& [_, p] : _scheduler.plugins()) {
            if (!p->active()) continue;
            if (p->busy() && p->callDeadline == Clock::time_point::max()) continue;  // its runner is being killed
            HOSTD_LOG(Error, p->name, "not stopped: the drain budget ran out",
                      {"stop_timeout", formatDuration(_scheduler.config().host.stopTimeout)}, {"state", std::string(stateName(p->state))});
            if (p->busy()) {
                _scheduler.context().executor.abandon(p->callId);
                _scheduler.markAbandoned();
            }
            _scheduler.markStopTimedOut();
            _scheduler.apply(*p, LifecycleEvent::DrainBudgetOver, "drain budget ran out");
            changed = true;
        }
    }
    if (changed) _scheduler.schedule();
}

void Recovery::noteFailure(Plugin& p, const std::string& error) {
    const PluginSection* s = _scheduler.config().plugin(p.name);
    if (s != nullptr && !s->restartOnFailure) return;  // restart = no: stays failed
    auto now = Clock::now();
    std::erase_if(p.failures, [&](auto t) { return now - t > _scheduler.config().host.restartInterval; });
    p.failures.push_back(now);
    int n = static_cast<int>(p.failures.size());
    if (n >= _scheduler.config().host.restartBurst) {
        quarantine(p, LifecycleEvent::FailureBurst, std::to_string(n) + " failures within " + formatDuration(_scheduler.config().host.restartInterval) +
                          "; last: " + error);
        return;
    }
    p.restartReason = failureKind(error);
    // 1 s doubling to a 5 min cap, plus up to 10 % jitter so that plugins failing together
    // (a shared dependency went away) do not retry in lockstep.
    auto base = std::min<Millis>(Millis(1000LL << std::min(n - 1, 20)), std::chrono::minutes(5));
    auto jitter = Millis(static_cast<long long>(base.count() * (std::rand() % 100) / 1000));
    p.retryAt = now + base + jitter;
    HOSTD_LOG(Warning, p.name, "will restart after backoff", {"backoff_ms", std::to_string((base + jitter).count())},
              {"failures", std::to_string(n)}, {"restart_burst", std::to_string(_scheduler.config().host.restartBurst)});
}

void Recovery::quarantine(Plugin& p, LifecycleEvent event, const std::string& why) {
    p.retryAt = Clock::time_point::max();
    p.quarantinedSince = Clock::now();
    _scheduler.apply(p, event, why);
    HOSTD_LOG(Error, p.name, "quarantined: not started again until its file or configuration section changes, or an "
              "operator restarts it", {"reason", why}, {"file", p.path});
}

void Recovery::releaseQuarantine(Plugin& p, const std::string& why) {
    HOSTD_LOG(Notice, p.name, "quarantine lifted", {"reason", why});
    p.failures.clear();
    if (_scheduler.context().crashHistory) _scheduler.context().crashHistory->forget(p.name);
    _scheduler.apply(p, p.image ? LifecycleEvent::QuarantineLifted : LifecycleEvent::QuarantineLiftedUnloaded);
    if (!p.image) _scheduler.context().readFile(p.name + ".so");
}

}  // namespace hostd
