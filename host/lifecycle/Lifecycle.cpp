#include "Lifecycle.h"

#include <string>

namespace hostd {

namespace {

using S = PluginState;
using E = LifecycleEvent;

constexpr StateSet kWaiting{S::Loaded, S::Pending, S::Blocked};
constexpr StateSet kBusy{S::Starting, S::Reloading, S::Stopping};
constexpr StateSet kActive{S::Starting, S::Running, S::Reloading, S::Stopping};
constexpr StateSet kUnloaded{S::Invalid, S::Disabled, S::Quarantined};
/// Not running and not stuck: what a stop requested before it started, or once it stopped, applies to.
constexpr StateSet kDown{S::Loaded, S::Pending, S::Blocked, S::Stopped, S::Failed, S::Invalid, S::Disabled, S::Quarantined};

}  // namespace

// clang-format off
const std::array<Transition, 29> kTransitions{{
    {E::CodeLoaded,           kDown,                 S::Loaded,      "not running, not stuck", "keep the image (the old one is unloaded); a clean slate of failures; start at once if what it requires runs"},
    {E::LoadRefused,          kUnloaded,             S::Invalid,     "invalid, disabled, quarantined", "log the file and the reason; retried when the file changes"},
    {E::DisabledByConfig,     {S::Invalid},          S::Disabled,    "invalid (not loaded yet)", "not loaded"},
    {E::DependenciesStarting, kWaiting,              S::Loaded,      "loaded, pending, blocked", "wait"},
    {E::DependencyMissing,    kWaiting,              S::Pending,     "loaded, pending, blocked", "log what it waits for"},
    {E::DependencyBlocked,    kWaiting,              S::Blocked,     "loaded, pending, blocked", "log what blocks it"},
    {E::StartCalled,          kWaiting,              S::Starting,    "loaded, pending, blocked", "call start with its section, within start_timeout"},
    {E::StartSucceeded,       {S::Starting},         S::Running,     "starting", "an upgrade: unload the previous version"},
    {E::StartFailed,          {S::Starting},         S::Failed,      "starting", "count the failure: restart after a backoff, or quarantine"},
    {E::UpgradeRolledBack,    {S::Starting},         S::Loaded,      "starting (an upgrade)", "unload the new version, remember its content as refused, the previous one starts again"},
    {E::ReloadCalled,         {S::Running},          S::Reloading,   "running", "call reload with its new section, within reload_timeout"},
    {E::ReloadDone,           {S::Reloading},        S::Running,     "reloading", "log whether it took the new section"},
    {E::StopCalled,           {S::Running},          S::Stopping,    "running", "call stop, within its stop_timeout (and the drain's)"},
    {E::StopDone,             {S::Stopping},         S::Stopped,     "stopping", "a failed stop makes the drain exit 3; then what was asked of the stop (below)"},
    {E::CallOverran,          kBusy,                 S::Stuck,       "starting, reloading, stopping", "abandon the call; never unload it; the drain exits 4"},
    {E::DrainBudgetOver,      kActive,               S::Stuck,       "starting, running, reloading, stopping", "abandon it; the drain exits 4"},
    {E::CodeHung,             StateSet::all(),       S::Stuck,       "any", "its load or unload never returned: no load or unload until hostd restarts; counted like a crash"},
    {E::RestartAfterStop,     kDown,                 S::Loaded,      "not running, not stuck", "start again once what it requires runs"},
    {E::UpgradeAfterStop,     kDown,                 S::Loaded,      "not running, not stuck", "the new version replaces it; the old one is kept until the new one started"},
    {E::FailAfterStop,        {S::Stopped},          S::Failed,      "stopped", "count the reported failure: restart after a backoff, or quarantine"},
    {E::HoldAfterStop,        kDown,                 S::Stopped,     "not running, not stuck", "no restart until hostctl start"},
    {E::DisableAfterStop,     kDown,                 S::Disabled,    "not running, not stuck", "unload every version"},
    {E::RemoveAfterStop,      kDown,                 S::Invalid,     "not running, not stuck", "unload every version; a version still mapped keeps the record (else it is forgotten)"},
    {E::BackoffOver,          {S::Failed},           S::Loaded,      "failed", "start again once what it requires runs"},
    {E::OperatorStart,        {S::Stopped, S::Failed}, S::Loaded,    "stopped, failed", "a clean slate of failures; start once what it requires runs"},
    {E::FailureBurst,         {S::Failed},           S::Quarantined, "failed", "no restart until new content, a changed section or hostctl start"},
    {E::CrashedBefore,        kDown,                 S::Quarantined, "not running, not stuck", "not loaded (a running version stays, and this file is refused)"},
    {E::QuarantineLifted,     {S::Quarantined},      S::Loaded,      "quarantined", "forget its failures and crashes; start once what it requires runs"},
    {E::QuarantineLiftedUnloaded, {S::Quarantined},  S::Invalid,     "quarantined", "forget its failures and crashes; read its file again"},
}};
// clang-format on

std::optional<PluginState> transition(PluginState from, LifecycleEvent event) {
    for (const auto& t : kTransitions)
        if (t.event == event && t.from.contains(from)) return t.to;
    return std::nullopt;
}

std::string_view eventName(LifecycleEvent event) {
    switch (event) {
    case E::CodeLoaded: return "code loaded";
    case E::LoadRefused: return "load refused";
    case E::DisabledByConfig: return "disabled by configuration";
    case E::DependenciesStarting: return "dependencies starting";
    case E::DependencyMissing: return "dependency missing";
    case E::DependencyBlocked: return "dependency blocked";
    case E::StartCalled: return "start called";
    case E::StartSucceeded: return "start succeeded";
    case E::StartFailed: return "start failed";
    case E::UpgradeRolledBack: return "upgrade rolled back";
    case E::ReloadCalled: return "reload called";
    case E::ReloadDone: return "reload done";
    case E::StopCalled: return "stop called";
    case E::StopDone: return "stop done";
    case E::CallOverran: return "call overran";
    case E::DrainBudgetOver: return "drain budget over";
    case E::CodeHung: return "load or unload hung";
    case E::RestartAfterStop: return "restart after stop";
    case E::UpgradeAfterStop: return "upgrade after stop";
    case E::FailAfterStop: return "fail after stop";
    case E::HoldAfterStop: return "hold after stop";
    case E::DisableAfterStop: return "disable after stop";
    case E::RemoveAfterStop: return "remove after stop";
    case E::BackoffOver: return "backoff over";
    case E::OperatorStart: return "operator start";
    case E::FailureBurst: return "failure burst";
    case E::CrashedBefore: return "crashed before";
    case E::QuarantineLifted: return "quarantine lifted";
    case E::QuarantineLiftedUnloaded: return "quarantine lifted, not loaded";
    }
    return "event";
}

std::string lifecycleTable() {
    std::string out = "| in state | on event | goes to | and does |\n| --- | --- | --- | --- |\n";
    for (const auto& t : kTransitions)
        out += "| " + std::string(t.fromText) + " | " + std::string(eventName(t.event)) + " | " +
               std::string(stateName(t.to)) + " | " + std::string(t.actions) + " |\n";
    return out;
}

}  // namespace hostd
