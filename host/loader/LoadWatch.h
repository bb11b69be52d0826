#pragma once

#include "HostFds.h"
#include "UniqueFd.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

namespace hostd {

/// Bounds how long plugin code running inside the dynamic loader can hold the main loop: ELF
/// constructors and the entry function run in dlopen, destructors in dlclose, on the main thread.
/// glibc runs them holding its loader lock, so a hung one cannot be waited out on another
/// thread either: every later dlopen, dlclose, dlsym and dladdr would block behind it.
///
/// A thread of its own sleeps on a timerfd that is armed only while a load or unload runs (an
/// idle host wakes nothing). If one overruns its limit, that thread calls onOverrun, which takes
/// the main loop over for good: signals, the control socket, the other plugins' calls and the
/// drain go on, while the main thread stays inside the plugin's code. If that code returns after
/// all, the main thread parks for good instead of coming back into a loop that has moved on.
class LoadWatch {
public:
    struct Job {
        std::string plugin;
        std::string content;  ///< Of the image being loaded or unloaded.
        const char* what;    ///< "load" or "unload".
    };
    using Overrun = std::function<void(const Job&)>;

    explicit LoadWatch(Overrun onOverrun);
        /// Starts the watch thread. Throws std::system_error.
    ~LoadWatch();
        /// Stops and joins the watch thread, unless it has taken the main loop over (then the
        /// process ends from that thread and this never runs).
    LoadWatch(const LoadWatch&) = delete;
    LoadWatch& operator=(const LoadWatch&) = delete;

    template <class F>
    auto guard(Job job, std::chrono::steady_clock::duration limit, F&& run) -> decltype(run()) {
        begin(std::move(job), limit);
        Ender ender{*this};  // also when run throws
        return run();
    }
        /// Runs run() (on the calling thread, the main loop's) under the watch. Returns what it
        /// returns; never returns if it overran (see above).

    bool loaderHeld() const noexcept { return (_word.load(std::memory_order_acquire) & kStateMask) == kOverran; }
        /// A load or unload overran: the loader lock is held for the rest of the process. Loading
        /// or unloading anything now would block the loop for good.

    const Job& heldBy() const noexcept { return _job; }
        /// The load or unload that overran; meaningful once loaderHeld().

private:
    // _word: the job's generation above two bits of state, so that the watch thread can only
    // declare the very job it found overdue overrun, never the next one.
    enum : std::uint64_t { kIdle = 0, kRunning = 1, kOverran = 2, kStateMask = 3 };
    struct Ender {
        LoadWatch& watch;
        ~Ender() { watch.end(); }
    };

    void begin(Job job, std::chrono::steady_clock::duration limit);
    void end() noexcept;
    void watch();

    Overrun _onOverrun;
    UniqueFd _timer;
    UniqueFd _stop;
    HostFds::Watched _timerWatch{_timer.get(), "the load watch's timerfd"};  // after the descriptors
    HostFds::Watched _stopWatch{_stop.get(), "the load watch's eventfd"};
    Job _job;  // written by the main thread before _word becomes kRunning, read after
    std::atomic<std::int64_t> _deadlineNs{0};
    std::atomic<std::uint64_t> _word{kIdle};
    std::uint64_t _running = 0;  // main thread: the word of the job under way
    std::thread _thread;  // last: starts after everything above exists
};

}  // namespace hostd
