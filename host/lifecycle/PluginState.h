#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hostd {

/// Where a plugin is in its life. Transitions are logged one line each.
enum class PluginState {
    Loaded,     ///< Image loaded and checked; not started yet.
    Pending,    ///< Waits for a dependency that is not installed (reason names it).
    Blocked,    ///< A dependency failed, or the plugin is on a dependency cycle (reason says).
    Starting,   ///< start() is running.
    Running,
    Reloading,  ///< reload() is running.
    Stopping,   ///< stop() is running.
    Stopped,
    Failed,     ///< start() failed; stop() is not called.
    Stuck,      ///< A call overran its deadline; never unloaded.
    Invalid,    ///< The file could not be loaded (reason says why).
    Disabled,   ///< enabled = false in its section; not loaded.
    Quarantined,///< Failed or crashed too often; waits for new content, a new config section, or an operator.
};

constexpr unsigned kStateCount = static_cast<unsigned>(PluginState::Quarantined) + 1;

std::string_view stateName(PluginState state);

/// What happens to a plugin once a stop requested outside the drain has completed.
enum class AfterStop {
    None,
    Restart,  ///< Start again when its dependencies run (it depends on a plugin being replaced).
    Replace,  ///< Swap in `candidate` (an upgrade), keeping the old image for a rollback.
    Remove,   ///< The file is gone: unload and forget the plugin.
    Fail,     ///< It reported a failure: mark it failed, then restart with backoff (or quarantine).
    Disable,  ///< enabled = false: unload and stay Disabled.
    Hold,     ///< An operator stopped it (hostctl stop): stays Stopped until hostctl start.
};

/// A dependency as seen by a plugin waiting to start: its name, and its state if installed.
struct DependencyState {
    std::string name;
    std::optional<PluginState> state;
};

/// What a loaded plugin that has not started should do next.
struct StartDecision {
    bool start = false;                      ///< Every dependency runs: start now.
    PluginState state = PluginState::Loaded; ///< Otherwise: Loaded (dependencies on their way up), Pending or Blocked.
    std::string reason;                      ///< For Pending and Blocked: names the dependencies and why.
};

StartDecision decideStart(const std::vector<DependencyState>& dependencies, const std::string& cycle);
    /// The start rule. `cycle` is the dependency cycle the plugin is on ("a -> b -> a"), or
    /// empty. A missing or pending dependency makes the plugin Pending; a failed, invalid,
    /// blocked, stuck, stopped or disabled one makes it Blocked; one that is loaded or
    /// starting makes it wait as Loaded.

}  // namespace hostd
