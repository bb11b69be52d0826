#pragma once

#include "Config.h"
#include "ControlProtocol.h"
#include "ControlSocket.h"
#include "CrashHistory.h"
#include "DependencyGraph.h"
#include "DirectoryWatcher.h"
#include "EventLoop.h"
#include "InProcessExecutor.h"
#include "Lifecycle.h"
#include "MetricsServer.h"
#include "Notifier.h"
#include "PluginOperations.h"
#include "Plugin.h"
#include "PluginDirectory.h"

#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace hostd {

class ControlServer;
class PluginPrefetch;

/// Runs the plugins: loads every NAME.so of the plugin directory, starts them in dependency
/// order, follows the directory (install, upgrade, remove at runtime), applies configuration
/// reloads on SIGHUP, and on SIGTERM/SIGINT/SIGQUIT drains them in reverse dependency order
/// within their deadlines. Single-threaded: every decision is made on the thread that calls
/// run(); plugin callbacks run on CallRunner threads.
///
/// Implemented in three files: Supervisor.cpp (event loop, signals, drain, configuration),
/// SupervisorLifecycle.cpp (start/stop scheduling and call completions) and
/// SupervisorDirectory.cpp (plugin files arriving, changing and leaving).
class Supervisor : private PluginOperations {
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

    bool hasAbandonedCalls() const noexcept { return _abandoned; }
        /// True if a plugin call was abandoned: the process must end with _exit, since that
        /// call's thread may still be running plugin code.

private:
    enum class Phase { Starting, Running, Draining, Done };

    // Supervisor.cpp
    void onSignal(int signal);
    void onReportedFailure(const std::string& plugin, const std::string& message);
    void beginDrain(std::string_view why);
    void scheduleDrain();
    void checkDeadlines();
    std::optional<Clock::time_point> nextDeadline() const;
    void rereadConfiguration(std::string_view why);
    void watchConfig();
    void onConfigEvents(DirectoryWatcher& watcher, bool dropins);
    void applyConfigChange(const ConfigSnapshot& old);
    void finishReload(const ConfigSnapshot& old);
        /// What a reload does once the new configuration is in place, up to READY=1.
    void warnAboutRestartOnlyKeys(const ConfigSnapshot& old) const;
    void reportReadyOnce();
    int loop();
        /// Turns the loop until the drain is over; returns finish().
    [[noreturn]] void continueAfterHungLoad(const LoadWatch::Job& job);
        /// On the LoadWatch thread: takes the loop over from the main thread stuck in job.
    int finish();

    // SupervisorLifecycle.cpp
    void rebuildGraph();
        /// Marks the dependency graph stale; refreshGraph() rebuilds it when next needed.
    void refreshGraph();
    void startIfReady(Plugin& p);
    void schedule();
    bool evaluateWaiting(Plugin& p);
    void requestStop(Plugin& p, AfterStop action);
    void scheduleStops();
    void applyAfterStop(Plugin& p);
    void submitStart(Plugin& p);
    void submitReload(Plugin& p);
    void submitStop(Plugin& p);
    void submit(Plugin& p, PluginCall call, Clock::time_point deadline);
    void applyCompletions();
        /// onCompleted for each queued completion, in order.
    void onCompleted(std::uint64_t id, CallResult result);
        /// Applies a call's result; the caller runs schedule() once the batch is applied.
    void onStartCompleted(Plugin& p, const CallResult& r);
    void noteFailure(Plugin& p, const std::string& error);
        /// A failed start or a reported failure: restart with backoff, or quarantine after
        /// restart_burst failures within restart_interval.
    void quarantine(Plugin& p, LifecycleEvent event, const std::string& why);
    void releaseQuarantine(Plugin& p, const std::string& why);
    void openCrashHistory();
    bool needsReload(const Plugin& p) const;
    void apply(Plugin& p, LifecycleEvent event, std::string reason = {});
        /// Moves p to the state the lifecycle table (Lifecycle.h) gives for its state and event;
        /// logs an internal error and leaves it where it is if the table has no such transition.
    void resolveDependencies(Plugin& p);
        /// p.dependencies = its image's requires plus its section's, sorted and unique.
    void unloadImage(Plugin& p, std::unique_ptr<PluginCode> image);
        /// Every image hostd lets go of goes here (PluginExecutor::unload); p is stale if the
        /// image stays mapped.
    Millis timeout(const Plugin& p, std::string_view call) const;

    // SupervisorDirectory.cpp
    void watchPluginDir();
    void onDirectoryEvents();
    void rescan();
    Plugin* runsFromATakenFile(const std::string& fileName);
        /// The plugin whose image came from this file's current content, as far as hostd knows
        /// (its last look took the file): a chmod/chown/touch of it is not worth a read. Else
        /// nullptr.
    void recheckTrust(Plugin& p, const std::string& fileName);
        /// After a chmod/chown of p's file (not read again): says at once when the file stops,
        /// or starts again, passing the trust checks.
    void fileTaken(Plugin& p);
        /// A look at p's file took it (loaded, or the same content): chmods no longer re-read it.
    void trustRestored(Plugin& p);
        /// Says that p's file passes the trust checks again, if it was said that it did not.
    void filesReady(const std::vector<std::string>& fileNames);
        /// fileReady for each, in order; many are read ahead on a thread (PluginPrefetch.h).
    void fileReady(const std::string& name);
    void fileGone(const std::string& name);
    Plugin& record(const std::string& name);
    TrustPolicy trustPolicy(const std::string& name) const;

    // SupervisorControl.cpp: what hostctl may see and ask (PluginOperations, HostctlCommands.h)
    void openControl(std::optional<ControlSocket> socket);
        /// Registers hostctl's commands and serves them on socket.
    void recordReload(std::string_view why, const ConfigLoad& load);
    void controlConfigChanged(const ConfigSnapshot& old);
    HostView host() const override;
    std::vector<PluginView> plugins() const override;
    bool draining() const override;
    bool installed(const std::string& plugin) const override;
    bool configured(const std::string& plugin) const override;
    unsigned reloadConfiguration(std::string_view why) override;
    Accepted reloadPlugin(const std::string& plugin) override;
    Accepted startPlugin(const std::string& plugin) override;
    Accepted stopPlugin(const std::string& plugin) override;
    Accepted restartPlugin(const std::string& plugin) override;

    std::string pluginDir() const;
    Plugin* find(const std::string& name);
    Plugin* findByCall(std::uint64_t id);

    ConfigPtr _config;
    ConfigSource _source;
    std::map<std::string, std::unique_ptr<Plugin>> _plugins;
    std::unordered_map<std::uint64_t, std::string> _callers;  // call id -> plugin, until it completes
    std::map<std::string, std::string> _cycles;  // plugin -> "a -> b -> a"
    DependencyGraph _graph;
    bool _graphDirty = true;
    EventLoop _loop;
    SignalSource _signals;
    std::unique_ptr<PluginExecutor> _executor{
        std::make_unique<InProcessExecutor>([this](const LoadWatch::Job& job) { continueAfterHungLoad(job); })};
    std::deque<std::pair<std::uint64_t, CallResult>> _completions;  // taken from _executor, not yet applied
    std::function<void(int)> _exitAfterTakeover = [](int code) { std::_Exit(code); };
    Notifier _notifier;
    std::optional<PluginDirectory> _dir;
    std::unique_ptr<DirectoryWatcher> _watcher;
    PluginPrefetch* _prefetch = nullptr;  // set while filesReady runs
    std::unique_ptr<CrashHistory> _crashHistory;
    std::unique_ptr<DirectoryWatcher> _configDirWatcher;   // the main file's directory
    std::unique_ptr<DirectoryWatcher> _dropinWatcher;      // <main file>.d/
    ConfigPtr _reloadApplying;  // the configuration a reload is applying changes from, until done
    Clock::time_point _configDue = Clock::time_point::max();  // debounced reload after file edits
    Clock::time_point _configFirstChange = Clock::time_point::max();
    Phase _phase = Phase::Starting;
    Clock::time_point _drainStarted{};
    Clock::time_point _drainDeadline = Clock::time_point::max();
    bool _stopFailed = false;
    bool _stopTimedOut = false;
    bool _abandoned = false;
    unsigned _generation = 1;
    Clock::time_point _startedAt = Clock::now();
    Poco::JSON::Object::Ptr _lastReload;  // hostctl status; null until the first reload
    ControlCommands _commands;            // before _control, which refers to it
    std::unique_ptr<ControlServer> _control;
    std::unique_ptr<MetricsServer> _metrics;  // last: removes its fd from _loop before _loop goes
};

}  // namespace hostd
