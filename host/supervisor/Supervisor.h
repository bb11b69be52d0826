#pragma once

#include "Config.h"
#include "ControlProtocol.h"
#include "ControlSocket.h"
#include "ConfigWatch.h"
#include "CrashHistory.h"
#include "DirectoryFollower.h"
#include "DirectoryWatcher.h"
#include "EventLoop.h"
#include "HostctlOperations.h"
#include "InProcessExecutor.h"
#include "MetricsServer.h"
#include "Notifier.h"
#include "Scheduler.h"

#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace hostd {

class ControlServer;

/// Runs the plugins: loads every NAME.so of the plugin directory, starts them in dependency
/// order, follows the directory (install, upgrade, remove at runtime), applies configuration
/// reloads on SIGHUP, and on SIGTERM/SIGINT/SIGQUIT drains them in reverse dependency order
/// within their deadlines. Single-threaded: every decision is made on the thread that calls
/// run(); plugin code runs where the PluginExecutor runs it.
///
/// The shell that wires the event loop to the parts (docs/architecture.md): signals, the
/// configuration and its reloads, the drain, deadlines, crash history, the hung-load takeover,
/// the control socket and the metrics endpoint. The plugins' lifecycle is the Scheduler's, the
/// plugin directory the DirectoryFollower's, hostctl's questions HostctlOperations'.
class Supervisor {
public:
    Supervisor(ConfigPtr config, ConfigSource source, std::optional<ControlSocket> control = std::nullopt,
               std::string metricsToken = {});
        /// Serves hostctl on control (openControlSocket()) if given. Throws std::system_error if
        /// the event loop or inotify cannot be set up.
    ~Supervisor();

    int run();
        /// Runs until the drain is over; returns the exit code (ExitCode.h).

    static void applyLogLevels(const ConfigSnapshot& config);
        /// Sets the host's level and each plugin's log_level filter from the configuration.

    void setExitAfterTakeover(std::function<void(int)> exit) { _exitAfterTakeover = std::move(exit); }
        /// How the process ends when the loop ran on, and ended, on another thread after a
        /// plugin's load or unload hung the main thread (LoadWatch.h): called with the exit code,
        /// must not return. Default: std::_Exit.

    bool hasAbandonedCalls() const noexcept { return _scheduler.abandoned(); }
        /// True if a plugin call was abandoned: the process must end with _exit, since that
        /// call's thread may still be running plugin code.

private:
    void onSignal(int signal);
    void beginDrain(std::string_view why);
    void checkDeadlines();
    std::optional<Clock::time_point> nextDeadline() const;
    void rereadConfiguration(std::string_view why);
    void applyConfigChange(const ConfigSnapshot& old);
    void finishReload(const ConfigSnapshot& old);
        /// What a reload does once the new configuration is in place, up to READY=1.
    void reportReadyOnce();
    int loop();
        /// Turns the loop until the drain is over; returns finish().
    [[noreturn]] void continueAfterHungLoad(const LoadWatch::Job& job);
        /// On the LoadWatch thread: takes the loop over from the main thread stuck in job.
    int finish();
    void openCrashHistory();
    void openControl(std::optional<ControlSocket> socket);
        /// Registers hostctl's commands and serves them on socket.
    void controlConfigChanged(const ConfigSnapshot& old);
    std::string pluginDir() const;
    SchedulerContext context();
    std::unique_ptr<PluginExecutor> makeExecutor();
        /// In hostd's process, or in a runner, as each plugin's isolation says.

    ConfigPtr _config;
    ConfigSource _source;
    EventLoop _loop;
    SignalSource _signals;
    std::unique_ptr<PluginExecutor> _executor{makeExecutor()};
    std::function<void(int)> _exitAfterTakeover = [](int code) { std::_Exit(code); };
    Notifier _notifier;
    std::unique_ptr<CrashHistory> _crashHistory;
    HostPhase _phase = HostPhase::Starting;
    Clock::time_point _drainStarted{};
    Clock::time_point _drainDeadline = Clock::time_point::max();
    Scheduler _scheduler{context()};
    DirectoryFollower _directory{_loop, _scheduler, context(), [this] { return pluginDir(); }};
    ConfigWatch _configWatch{_loop, _source.path};
    ConfigPtr _reloadApplying;  // the configuration a reload is applying changes from, until done
    unsigned _generation = 1;
    Clock::time_point _startedAt = Clock::now();
    Poco::JSON::Object::Ptr _lastReload;  // hostctl status; null until the first reload
    HostctlOperations _operations{_scheduler, {_phase, _startedAt, _generation, _source.path, [this] { return pluginDir(); },
                                               _lastReload, *_executor, _config,
                                               [this](std::string_view why) { rereadConfiguration(why); }}};
    ControlCommands _commands;            // before _control, which refers to it
    std::unique_ptr<ControlServer> _control;
    std::unique_ptr<MetricsServer> _metrics;  // last: removes its fd from _loop before _loop goes
};

}  // namespace hostd
