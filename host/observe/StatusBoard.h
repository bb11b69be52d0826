#pragma once

#include "Config.h"
#include "DirectoryWatcher.h"
#include "EventLoop.h"
#include "PluginState.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace hostd {

/// What the metrics and debug endpoints show, kept up to date by the Supervisor (main thread),
/// the plugin call threads and the thread-tagging service, and read by the HTTP workers as one
/// consistent copy (snapshot()). Every member function is thread-safe; each holds one mutex
/// for a few map operations, never while calling out.
class StatusBoard {
public:
    /// Upper bounds (seconds) of the call-duration histogram buckets; +Inf is implicit.
    static constexpr std::array<double, 12> kBuckets{0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                     0.25,  0.5,   1,    2.5,   10,   30};

    /// One kind of call (start, reload, stop) of one plugin.
    struct CallStats {
        std::uint64_t count = 0;
        std::uint64_t failures = 0;
        double seconds = 0;          ///< Sum of wall-clock durations.
        double maxSeconds = 0;
        std::array<std::uint64_t, kBuckets.size()> buckets{};  ///< Non-cumulative counts per bucket.
    };

    struct PluginStatus {
        PluginState state = PluginState::Loaded;
        std::string reason;
        double callbackCpuSeconds = 0;  ///< CPU time of its callbacks (CLOCK_THREAD_CPUTIME_ID).
        std::map<std::string, CallStats, std::less<>> calls;
        pid_t runnerPid = 0;                 ///< isolation = process: its runner while one lives.
        std::uint64_t runnerStarts = 0;
        std::map<std::string, std::uint64_t, std::less<>> runnerEnds;  ///< By how: exited, crashed, killed, seccomp, unloaded.
        std::map<std::string, std::uint64_t, std::less<>> restarts;    ///< By reason (StatusBoard::pluginRestarted).
    };

    /// A thread the host knows the owner of.
    struct ThreadOwner {
        std::string plugin;         ///< Empty: a host thread.
        std::string name;           ///< The name it was tagged with (may exceed the 15-char comm).
        unsigned long long startTicks = 0;  ///< Its start time (/proc stat field 22): a reused tid is not it.
        std::string inCall;         ///< For a call thread: the callback it runs.
    };

    enum class Phase { Starting, Running, Draining, Done };

    struct Snapshot {
        std::map<std::string, PluginStatus> plugins;
        std::map<std::string, std::uint64_t> loadFailures;  ///< By reason (loadFailureReason).
        std::map<std::string, std::uint64_t> dirEvents;     ///< By kind.
        std::uint64_t reloadsOk = 0, reloadsFailed = 0;
        std::uint64_t rejectedConnections = 0;
        Phase phase = Phase::Starting;
        double drainSeconds = 0;     ///< So far while draining; final once drained.
        std::map<pid_t, ThreadOwner> threads;  ///< Tagged plugin threads, host threads, calls in flight.
        ConfigPtr config;            ///< The configuration in effect.
        bool loaderHeld = false;     ///< A plugin's load or unload never returned (LoadWatch.h).
    };

    static StatusBoard& instance();

    // Supervisor events (main thread).
    void pluginState(const std::string& plugin, PluginState state, const std::string& reason);
    void forget(const std::string& plugin);
        /// The plugin's record is gone (its file was removed).
    void callCompleted(const std::string& plugin, std::string_view call, Clock::duration duration, bool ok);
    void runnerStarted(const std::string& plugin, pid_t pid);
    void runnerEnded(const std::string& plugin, pid_t pid, std::string_view how);
        /// An isolated plugin's runner, as ProcessExecutor sees it.
    void pluginRestarted(const std::string& plugin, std::string_view reason);
        /// A plugin is started again: after a failure (crashed, exited, killed, seccomp, reported,
        /// failed), by an operator, a configuration change, for a dependency or its file put back.
    void loadFailed(const std::string& error);
        /// Counts a refused plugin file under loadFailureReason(error).
    void dirEvent(std::string_view kind);
    void configApplied(ConfigPtr config);
        /// At start and after every successful reload.
    void configReloadFailed();
    void phase(Phase phase);
        /// Draining starts the drain clock; Done stops it.
    void connectionRejected();
    void lateServiceCall() noexcept { _lateServiceCalls.fetch_add(1, std::memory_order_relaxed); }
        /// A plugin called a host service through its context after its last stop returned.
    std::uint64_t lateServiceCalls() const noexcept { return _lateServiceCalls.load(std::memory_order_relaxed); }
    void loaderHeld();
        /// A plugin's load or unload hung: nothing can be loaded or unloaded until a restart.

    template <class Job>
    auto attributed(const std::string& plugin, std::string_view call, Job job) {
        return [this, plugin, call = std::string(call), job = std::move(job)]() mutable {
            CallAttribution scope(*this, plugin, call);
            return job();
        };
    }
        /// Wraps a plugin callback: while it runs, its thread is attributed to the plugin, and
        /// its CPU time is added to the plugin's callbackCpuSeconds.

    /// Attributes the calling thread to a plugin's callback for its lifetime (attributed()).
    class CallAttribution {
    public:
        CallAttribution(StatusBoard& board, const std::string& plugin, std::string_view call);
        ~CallAttribution();
        CallAttribution(const CallAttribution&) = delete;
        CallAttribution& operator=(const CallAttribution&) = delete;

    private:
        StatusBoard& _board;
        const std::string& _plugin;
        pid_t _tid;
        double _cpuBefore;
    };

    void tagThread(const std::string& plugin, std::string_view name);
        /// Records the calling thread as the plugin's (empty plugin: the host's) and sets its
        /// name (pthread_setname_np, first 15 bytes, printable ASCII only).

    Snapshot snapshot() const;
        /// A consistent copy; tags of threads that have ended are dropped first.

    static unsigned long long threadStartTicks(pid_t tid);
        /// Field 22 of /proc/self/task/TID/stat, or 0.

private:
    StatusBoard();
    void addCallThread(pid_t tid, const std::string& plugin, std::string_view call);
    void endCallThread(pid_t tid, const std::string& plugin, double cpuSeconds);

    mutable std::mutex _mutex;

    std::atomic<std::uint64_t> _lateServiceCalls{0};  // not under _mutex: a plugin's thread may call at any rate
    mutable Snapshot _s;
    Clock::time_point _drainStarted{};
};

std::string loadFailureReason(std::string_view error);
    /// A small fixed set of labels for LoadError messages (PluginImage.cpp): "not_elf",
    /// "permissions", "sha256_mismatch", "dlopen", "abi_version", ... and "other".

std::string_view phaseName(StatusBoard::Phase phase);

std::string_view directoryChangeName(DirectoryWatcher::Change::Kind kind);
    /// The label of a plugin directory change: file_ready, file_changed, file_gone, rescan, dir_gone.

}  // namespace hostd
