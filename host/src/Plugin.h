#pragma once

#include "Config.h"
#include "EventLoop.h"
#include "PluginImage.h"

#include <hostd/plugin.h>

#include <cstdint>
#include <memory>
#include <mutex>
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

/// One plugin instance: a NAME.so file, its image, and its lifecycle state. Owned by the
/// Supervisor; its address is stable (the context given to the plugin points into it).
struct Plugin {
    std::string name;
    std::string path;                          ///< The operator's file, for messages.
    PluginState state = PluginState::Loaded;
    std::string reason;                        ///< Why Pending/Blocked/Failed/Invalid/Stuck.
    std::unique_ptr<PluginImage> image;
    std::vector<std::string> dependencies;         ///< Descriptor's plus the config's.
    ConfigPtr appliedConfig;                   ///< Snapshot whose section the plugin runs with.
    AfterStop afterStop = AfterStop::None;     ///< Requested while running; applied once stopped.
    std::unique_ptr<PluginImage> candidate;    ///< New content waiting to replace `image`.
    std::unique_ptr<PluginImage> previous;     ///< Old image kept until the new one has started.
    std::string rejected;                      ///< sha256 (or reason) of content already refused.
    bool stale = false;                        ///< An old image stayed mapped: no more hot upgrades.
    bool fileNotTaken = false;                 ///< The last look at its file, while an image ran, refused it or
                                               ///< saw it change: a chmod/chown/touch looks again.
    std::string untrusted;                     ///< Why its file fails the trust checks since a chmod/chown.
    std::string crashLabel;                    ///< "NAME@SHA256" of the image, for crash breadcrumbs.
    std::vector<Clock::time_point> failures;   ///< Recent failures, within restart_interval.
    Clock::time_point retryAt = Clock::time_point::max();  ///< Backoff: when a failed plugin starts again.
    Clock::time_point quarantinedSince{};
    std::string reportedFailure;               ///< What it reported (hostd_cb_report_failure), for AfterStop::Fail.
    Clock::time_point since = Clock::now();    ///< When the current image was loaded.
    std::string lastError;                     ///< The last reason it was Failed/Invalid/Stuck/Quarantined (hostctl list).
    Clock::time_point lastErrorAt{};

    hostd_type_context context{};              ///< Passed to every callback; stable address.

    // The call in flight, if any.
    std::uint64_t callId = 0;
    std::string_view callName;
    Clock::time_point callStarted{};
    Clock::time_point callDeadline = Clock::time_point::max();

    bool busy() const {
        return state == PluginState::Starting || state == PluginState::Reloading || state == PluginState::Stopping;
    }
    bool active() const { return busy() || state == PluginState::Running; }
        /// Started and not yet stopped: must be drained.
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

/// The plugin's config section as the C ABI presents it, kept alive for one call.
class CallConfig {
public:
    CallConfig(ConfigPtr snapshot, const std::string& plugin);
    const hostd_type_config* get() const noexcept { return &_config; }

private:
    ConfigPtr _snapshot;  // owns the strings the entries point into
    std::vector<hostd_type_config_entry> _entries;
    hostd_type_config _config{};
};

/// Failures that plugins report (hostd_cb_report_failure) from their own threads, handed to the
/// main loop through an eventfd.
class FailureInbox {
public:
    static FailureInbox& instance();
    int fd() const noexcept { return _event.get(); }
    void post(std::string plugin, std::string message);
        /// Thread-safe; never blocks on the main loop.
    std::vector<std::pair<std::string, std::string>> take();
        /// (plugin, message) pairs in arrival order. Main loop only.

private:
    FailureInbox();
    UniqueFd _event;
    std::mutex _mutex;
    std::vector<std::pair<std::string, std::string>> _reports;
};

/// The host services table given to every plugin.
const hostd_type_services* hostServices();

/// Sets what hostd_cb_is_stopping reports to every plugin.
void setHostStopping(bool stopping);

}  // namespace hostd
