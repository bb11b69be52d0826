// heartbeat: the smallest plugin that owns a thread. It logs "<message> N" every `interval`.
//
// What it shows:
// - reading and validating configuration with hostd::Config, throwing hostd::ConfigError;
// - reload that validates everything before changing anything, so a bad value leaves the
//   running configuration untouched (the host keeps the old one too);
// - a worker thread that sleeps on a condition_variable, so stop wakes it at once instead of
//   waiting out a sleep, and so the thread costs nothing between beats;
// - hostd::Thread (ABI 1.2), which names the thread "heartbeat" and tags it as the plugin's, so
//   hostd's /debug/threads and CPU views attribute it (on older hosts it is a plain thread);
// - stop that always joins its thread, even past the deadline: the host unmaps the image right
//   after stop returns, and a thread still running plugin code would crash the daemon.

#include <hostd/plugin.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>

namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

/// The validated configuration of the plugin.
struct HeartbeatSettings {
    milliseconds interval{std::chrono::seconds(5)};
        /// Time between two beats.
    std::string message{"heartbeat"};
        /// Prefix of each beat's log line.

    static HeartbeatSettings fromConfig(const hostd::Config& config) {
        HeartbeatSettings settings;
        settings.interval = config.getDuration("interval", settings.interval);
        // Below 10ms the log becomes the workload; above an hour nobody would notice a missing
        // beat, which defeats the purpose.
        if (settings.interval < milliseconds(10) || settings.interval > std::chrono::hours(1))
            throw hostd::ConfigError("interval = '" + config.getString("interval", "") +
                                     "' is out of range [10ms, 60m]");
        settings.message = config.getString("message", settings.message);
        return settings;
    }
        /// Reads and validates every key; throws hostd::ConfigError without side effects.
};

/// Logs a numbered line at a fixed interval from a thread of its own.
class Heartbeat : public hostd::Plugin {
public:
    using hostd::Plugin::Plugin;

    ~Heartbeat() override { stopThread(); }
        /// A safety net only: stop has normally joined the thread already. Without the stop
        /// request the join below would wait for ever.

    void start(const hostd::Config& config) override {
        _settings = HeartbeatSettings::fromConfig(config);
        _thread = hostd::Thread(context(), "heartbeat", [this] { run(); });
    }

    void reload(const hostd::Config& config) override {
        HeartbeatSettings settings = HeartbeatSettings::fromConfig(config);  // throws before any change
        {
            std::lock_guard lock(_mutex);
            _settings = std::move(settings);
            _settingsChanged = true;
        }
        _wakeUp.notify_one();
    }

    void stop(hostd::Deadline deadline) override {
        bool finishedInTime = false;
        {
            std::unique_lock lock(_mutex);
            _stopRequested = true;
            _wakeUp.notify_one();
            // std::thread::join has no timeout, so wait for the thread's own "finished" flag to
            // learn whether the join would overrun the deadline.
            finishedInTime = _wakeUp.wait_until(lock, deadline, [this] { return _threadFinished; });
        }
        if (!finishedInTime)
            context().warning("worker thread did not finish before the stop deadline; joining anyway");
        stopThread();
    }

private:
    void run() noexcept {
        // An exception escaping a thread calls std::terminate, which would kill the host.
        try {
            beatUntilStopped();
        } catch (const std::exception& e) {
            context().error(std::string("worker thread failed: ") + e.what());
        }
        std::lock_guard lock(_mutex);
        _threadFinished = true;
        _wakeUp.notify_all();
    }
        /// The worker thread's body.

    void beatUntilStopped() {
        std::uint64_t beatCount = 0;
        SteadyClock::time_point lastBeat = SteadyClock::now();
        std::unique_lock lock(_mutex);
        while (!_stopRequested) {
            // Measured from the last beat, so a reload from 1h to 2s takes effect within 2s.
            SteadyClock::time_point nextBeat = lastBeat + _settings.interval;
            _wakeUp.wait_until(lock, nextBeat, [this] { return _stopRequested || _settingsChanged; });
            if (_stopRequested) break;
            if (_settingsChanged) {
                _settingsChanged = false;
                continue;  // recompute nextBeat with the new interval
            }
            if (SteadyClock::now() < nextBeat) continue;  // woke spuriously
            lastBeat = SteadyClock::now();
            std::string line = _settings.message + " " + std::to_string(++beatCount);
            // Never hold our mutex while calling into the host: logging may block, and reload or
            // stop would then wait behind it.
            lock.unlock();
            context().info(line);
            lock.lock();
        }
    }
        /// Beats until stop is requested; runs with _mutex held except while logging.

    void stopThread() noexcept {
        {
            std::lock_guard lock(_mutex);
            _stopRequested = true;
        }
        _wakeUp.notify_all();
        if (_thread.joinable()) _thread.join();
    }
        /// Requests the stop, wakes the thread and joins it, however long that takes.

    std::mutex _mutex;                   ///< Guards everything below except _thread.
    std::condition_variable _wakeUp;     ///< Signals a stop, a reload, or the thread's end.
    HeartbeatSettings _settings;
    bool _settingsChanged = false;
    bool _stopRequested = false;
    bool _threadFinished = false;
    hostd::Thread _thread;               ///< Touched only by start, stop and the destructor.
};

}  // namespace

HOSTD_PLUGIN(Heartbeat, "1.0.0", "Logs a numbered heartbeat line at a fixed interval")
