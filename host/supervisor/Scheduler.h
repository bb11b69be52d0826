#pragma once

#include "Config.h"
#include "CrashHistory.h"
#include "DependencyGraph.h"
#include "Lifecycle.h"
#include "Notifier.h"
#include "Plugin.h"
#include "PluginExecutor.h"
#include "Recovery.h"

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace hostd {

/// Where the host as a whole is: starting (until the startup plugins ran), running, draining,
/// done (the drain is over).
enum class HostPhase { Starting, Running, Draining, Done };

/// What the Scheduler reads of the shell around it (the Supervisor owns all of it), and whom
/// it tells.
struct SchedulerContext {
    const ConfigPtr& config;                 ///< The configuration in effect; replaced by reloads.
    const HostPhase& phase;
    const Clock::time_point& drainDeadline;  ///< max() until the drain begins.
    PluginExecutor& executor;
    Notifier& notifier;
    const std::unique_ptr<CrashHistory>& crashHistory;
    std::function<void()> scheduled;         ///< After each scheduling pass outside the drain (readiness).
    std::function<void()> allStopped;        ///< The drain has nothing left to stop.
    std::function<void(const std::string& fileName)> readFile;  ///< Look at a plugin's file again.
};

/// The plugins and their lifecycle, applied: the records, the dependency graph, which plugin
/// starts, reloads or stops next, the calls (through the PluginExecutor), their results, the
/// deadlines, backoff and quarantine. Every state change goes through apply(), which takes its
/// target from the lifecycle table (Lifecycle.h). Main loop only; no thread, file or clock of
/// its own but the time it compares deadlines with.
class Scheduler {
public:
    explicit Scheduler(SchedulerContext context) : _ctx(std::move(context)) {}

    // The records.
    Plugin* find(const std::string& name);
    Plugin& record(const std::string& name, const std::string& path);
        /// The plugin's record, made (invalid, no code) if it has none; path: its file.
    std::map<std::string, std::unique_ptr<Plugin>>& plugins() noexcept { return _plugins; }
    const std::map<std::string, std::unique_ptr<Plugin>>& plugins() const noexcept { return _plugins; }

    // What happens to them.
    void apply(Plugin& p, LifecycleEvent event, std::string reason = {});
        /// Moves p to the state the lifecycle table gives for its state and event; logs an
        /// internal error and leaves it where it is if the table has no such transition.
    void schedule();
        /// Starts, reloads and stops whatever may now (in the drain: stops what may stop).
    void startIfReady(Plugin& p);
        /// Starts a freshly loaded plugin at once if everything it requires already runs.
    void requestStop(Plugin& p, AfterStop action, std::string_view restartReason = {});
        /// p, and first everything that requires it, stop; then `action` applies to p. A
        /// restart is counted under restartReason (its dependents' under "dependency").
    void submitReload(Plugin& p);
    void resolveDependencies(Plugin& p);
        /// p.dependencies = its code's requires plus its section's, sorted and unique.
    void rebuildGraph() noexcept { _graphDirty = true; }
        /// The dependency graph is rebuilt when next needed.
    void unloadImage(Plugin& p, std::unique_ptr<PluginCode> image);
        /// Every image hostd lets go of goes here (PluginExecutor::unload); p is stale if it
        /// stays mapped.
    Recovery& recovery() noexcept { return _recovery; }
        /// Deadlines, failures, backoff and quarantine.

    // Call completions and deadlines.
    void takeCompletions();
        /// Queues what the executor completed, applies it, schedules.
    void applyCompletions();
        /// Applies queued completions one at a time (after a hung unload, the next thread finds the rest).
    void beginDrain();
    std::optional<Clock::time_point> nextDeadline() const;
        /// The earliest call deadline or end of a backoff; nothing if none.

    // How the drain went.
    bool stopFailed() const noexcept { return _stopFailed; }
    bool stopTimedOut() const noexcept { return _stopTimedOut; }
    void markStopTimedOut() noexcept { _stopTimedOut = true; }
    bool abandoned() const noexcept { return _abandoned; }
    void markAbandoned() noexcept { _abandoned = true; }

    const SchedulerContext& context() const noexcept { return _ctx; }
    const ConfigSnapshot& config() const { return *_ctx.config; }
    bool draining() const { return _ctx.phase == HostPhase::Draining; }

private:
    void refreshGraph();
    void scheduleDrain();
    bool evaluateWaiting(Plugin& p);
    void scheduleStops();
    void applyAfterStop(Plugin& p);
    void submitStart(Plugin& p);
    void submitStop(Plugin& p);
    void submit(Plugin& p, PluginCall call, Clock::time_point deadline);
    Plugin* findByCall(std::uint64_t id);
    void onCompleted(std::uint64_t id, CallResult result);
    void onStartCompleted(Plugin& p, const CallResult& r);
    bool needsReload(const Plugin& p) const;
    Millis timeout(const Plugin& p, std::string_view call) const;

    SchedulerContext _ctx;
    std::map<std::string, std::unique_ptr<Plugin>> _plugins;
    std::unordered_map<std::uint64_t, std::string> _callers;  // call id -> plugin, until it completes
    std::map<std::string, std::string> _cycles;  // plugin -> "a -> b -> a"
    DependencyGraph _graph;
    bool _graphDirty = true;
    std::deque<std::pair<std::uint64_t, CallResult>> _completions;  // taken from the executor, not yet applied
    bool _stopFailed = false;
    bool _stopTimedOut = false;
    bool _abandoned = false;
    Recovery _recovery{*this};
};

}  // namespace hostd
