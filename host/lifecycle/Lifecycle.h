#pragma once

#include "PluginState.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hostd {

/// What happens to a plugin, as the event loop reports it: a file, a call's result, a
/// deadline, the configuration, an operator, the drain.
enum class LifecycleEvent {
    CodeLoaded,           ///< Its file was loaded (new content), and no version of it runs.
    LoadRefused,          ///< Its file cannot be loaded, and no version of it runs.
    DisabledByConfig,     ///< enabled = false, found before its file was loaded.
    DependenciesStarting, ///< What it requires is loaded or starting: wait.
    DependencyMissing,    ///< What it requires is not installed, or pending.
    DependencyBlocked,    ///< What it requires failed, stopped, is blocked, or it is on a cycle.
    StartCalled,          ///< Everything it requires runs: its start is called.
    StartSucceeded,
    StartFailed,          ///< Its start failed (no previous version to go back to).
    UpgradeRolledBack,    ///< The start of a new version failed: the previous version is back.
    ReloadCalled,         ///< Its section changed: its reload is called.
    ReloadDone,           ///< Its reload returned (accepted or refused: it runs either way).
    StopCalled,           ///< It has to stop (drain, upgrade, removal, operator, a dependency).
    StopDone,             ///< Its stop returned (cleanly or with an error).
    CallOverran,          ///< A call passed its deadline: abandoned, never unloaded.
    DrainBudgetOver,      ///< The drain's stop_timeout ran out before it stopped.
    CodeHung,             ///< Its load or unload never returned (LoadWatch).
    RestartAfterStop,     ///< Stopped (or never started) to let something below it change: back to waiting.
    UpgradeAfterStop,     ///< Stopped for an upgrade: the new version takes its place.
    FailAfterStop,        ///< Stopped after it reported a failure: failed, restart with backoff.
    HoldAfterStop,        ///< Stopped by an operator: stays stopped.
    DisableAfterStop,     ///< Stopped because its section says enabled = false: unloaded.
    RemoveAfterStop,      ///< Stopped because its file is gone, and its old image is still mapped.
    BackoffOver,          ///< The backoff after a failure is over: start again.
    OperatorStart,        ///< hostctl start (or restart) of a stopped or failed plugin.
    FailureBurst,         ///< restart_burst failures within restart_interval.
    CrashedBefore,        ///< This content crashed hostd in crash_quarantine runs in a row.
    QuarantineLifted,     ///< New content, a changed section or an operator; its code is loaded.
    QuarantineLiftedUnloaded, ///< The same, with no code loaded (it is read again).
};

/// A set of states, for the table below.
class StateSet {
public:
    constexpr StateSet() = default;
    constexpr StateSet(std::initializer_list<PluginState> states) {
        for (PluginState s : states) _bits |= bit(s);
    }
    static constexpr StateSet all() {
        StateSet s;
        s._bits = (std::uint32_t{1} << kStateCount) - 1;
        return s;
    }
    constexpr bool contains(PluginState s) const { return (_bits & bit(s)) != 0; }

private:
    static constexpr std::uint32_t bit(PluginState s) { return std::uint32_t{1} << static_cast<unsigned>(s); }
    std::uint32_t _bits = 0;
};

/// One row of the lifecycle: in one of these states, on this event, go to that state and do
/// these things (the shell, Supervisor, does them; `actions` says what, for the docs).
struct Transition {
    LifecycleEvent event;
    StateSet from;
    PluginState to;
    std::string_view fromText;  ///< `from` as the docs show it.
    std::string_view actions;
};

/// Every transition a plugin can make (docs/architecture.md shows this table, and a test
/// keeps the two equal).
extern const std::array<Transition, 29> kTransitions;

std::optional<PluginState> transition(PluginState from, LifecycleEvent event);
    /// The state a plugin in `from` goes to on `event`, or nothing if the table has no such
    /// transition. Pure: no threads, files or clocks.

std::string_view eventName(LifecycleEvent event);

std::string lifecycleTable();
    /// kTransitions as a Markdown table (docs/architecture.md).

}  // namespace hostd
