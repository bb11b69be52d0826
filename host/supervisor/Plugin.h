#pragma once

#include "Config.h"
#include "EventLoop.h"
#include "HostFds.h"
#include "PluginExecutor.h"
#include "PluginState.h"

#include <hostd/plugin.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hostd {

/// The context a plugin is given (hostd_type_context), with whether its services may be used:
/// from its start until its last stop returns (plugin.h). A call through it at any other time,
/// from a thread the plugin left behind, is refused, counted and said once per stop. One per
/// plugin name, never freed: such a thread may hold it long after the plugin's record is gone.
struct ServiceContext {
    static ServiceContext& of(const std::string& plugin);

    void open() noexcept;
        /// A start is called.
    void close() noexcept;
        /// Its last stop returned, or its start failed.
    bool admits(const char* service) noexcept;
        /// False, counted and said once, if the context is closed.

    hostd_type_context context{};
    std::string name;
    std::atomic<bool> isOpen{false};
    std::atomic<bool> refusalSaid{false};
};

/// One plugin instance: a NAME.so file, its image, and its lifecycle state. Owned by the
/// Supervisor; its address is stable (the context given to the plugin points into it).
struct Plugin {
    std::string name;
    std::string path;                          ///< The operator's file, for messages.
    PluginState state = PluginState::Loaded;
    std::string reason;                        ///< Why Pending/Blocked/Failed/Invalid/Stuck.
    std::unique_ptr<PluginCode> image;
    std::vector<std::string> dependencies;         ///< Descriptor's plus the config's.
    ConfigPtr appliedConfig;                   ///< Snapshot whose section the plugin runs with.
    AfterStop afterStop = AfterStop::None;     ///< Requested while running; applied once stopped.
    std::unique_ptr<PluginCode> candidate;     ///< New content waiting to replace `image`.
    std::unique_ptr<PluginCode> previous;      ///< Old image kept until the new one has started.
    std::string rejected;                      ///< Content (or reason) already refused.
    bool stale = false;                        ///< An old image stayed mapped: no more hot upgrades.
    bool fileNotTaken = false;                 ///< The last look at its file, while an image ran, refused it or
                                               ///< saw it change: a chmod/chown/touch looks again.
    std::string untrusted;                     ///< Why its file fails the trust checks since a chmod/chown.
    std::vector<Clock::time_point> failures;   ///< Recent failures, within restart_interval.
    Clock::time_point retryAt = Clock::time_point::max();  ///< Backoff: when a failed plugin starts again.
    Clock::time_point quarantinedSince{};
    std::string reportedFailure;               ///< What it reported (hostd_cb_report_failure), for AfterStop::Fail.
    std::string restartReason;                 ///< Why its next start is a restart (hostd_plugin_restarts_total), or empty.
    Clock::time_point since = Clock::now();    ///< When the current image was loaded.
    std::string lastError;                     ///< The last reason it was Failed/Invalid/Stuck/Quarantined (hostctl list).
    Clock::time_point lastErrorAt{};

    ServiceContext* service = nullptr;         ///< Its context, passed to every callback.

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

/// A failure of a running plugin: reported by the plugin (hostd_cb_report_failure), or its
/// runner ended (isolation = process).
struct FailureReport {
    std::string plugin;
    std::string message;
    bool runnerEnded = false;
};

/// Failures that plugins report from their own threads (and runners' ends, which are read while
/// calls complete), handed to the main loop through an eventfd.
class FailureInbox {
public:
    static FailureInbox& instance();
    int fd() const noexcept { return _event.get(); }
    void post(FailureReport report);
        /// Thread-safe; never blocks on the main loop.
    std::vector<FailureReport> take();
        /// (plugin, message) pairs in arrival order. Main loop only.

private:
    FailureInbox();
    UniqueFd _event;
    HostFds::Watched _watch{_event.get(), "the failure reports' eventfd"};
    std::mutex _mutex;
    std::vector<FailureReport> _reports;
};

/// The host services table given to every plugin.
const hostd_type_services* hostServices();

/// Sets what hostd_cb_is_stopping reports to every plugin.
void setHostStopping(bool stopping);

}  // namespace hostd
