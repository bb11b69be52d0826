#pragma once

#include "HostFds.h"
#include "UniqueFd.h"

#include <hostd/plugin.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace hostd {

/// What a plugin callback returned.
struct CallResult {
    hostd_type_result code = HOSTD_OK;
    std::string message;
    std::chrono::steady_clock::duration duration{};
};

std::string describeFailure(const CallResult& r);
    /// "failed: <message>", "exception: <message>", "error code N", ... for logs and replies.

/// Runs plugin callbacks on worker threads so the main loop never blocks on a plugin.
/// Every call gets a worker of its own at once: an idle one if there is one, else a new
/// thread, so a call never waits behind another (a hung plugin cannot delay the next start).
/// A worker whose call has finished waits, blocked, for the next one (at most kMaxIdle do;
/// the others end), which spares the thread creation and teardown (stack mappings, TLB
/// shootdowns) that dominated a start. A call that overruns its deadline is abandoned by the
/// caller: its worker keeps running (a thread cannot be killed in-process) and its late
/// completion is still reported. Completions are announced on an eventfd the main loop polls.
///
/// Not thread-safe: every member is called from the one thread that owns the runner.
class CallRunner {
public:
    using Job = std::function<CallResult()>;

    static constexpr std::size_t kMaxIdle = 8;
        /// Idle workers kept; cost nothing but their stacks' address space.

    CallRunner();
        /// Throws std::system_error.
    ~CallRunner();
        /// Ends and joins the idle workers; detaches the busy ones (their completions are
        /// dropped).
    CallRunner(const CallRunner&) = delete;
    CallRunner& operator=(const CallRunner&) = delete;

    int fd() const noexcept;
        /// Readable when completions are waiting.

    std::uint64_t submit(Job job);
        /// Starts job on an idle worker or a new thread; returns the call's id. Throws
        /// std::system_error if no thread can be created.

    std::vector<std::pair<std::uint64_t, CallResult>> takeCompleted();
        /// Completed calls since the last take, in completion order.

    void abandon(std::uint64_t id);
        /// Forgets a call that overran its deadline; its completion, if it ever comes, is
        /// still reported.

    void retireIdleWorkers();
        /// Ends and joins every idle worker. Called before a plugin image is unloaded: a
        /// thread that ran plugin code may hold the plugin's thread_local objects, whose
        /// destructors run only when the thread exits, and which keep the image mapped.

    std::size_t running() const noexcept { return _outstanding.size(); }
        /// Calls submitted and neither taken nor abandoned.

    std::size_t workers() const noexcept { return _workers.size(); }
        /// Worker threads not yet joined (busy, idle or ending).

private:
    struct Worker {
        std::thread thread;                                          // main thread only
        std::condition_variable wake;
        std::optional<std::pair<std::uint64_t, Job>> assignment;    // guarded by Shared::mutex
        bool quit = false;                                           // guarded by Shared::mutex
    };
    struct Shared {
        UniqueFd event;
        std::mutex mutex;
        std::deque<std::pair<std::uint64_t, CallResult>> done;
        std::vector<std::shared_ptr<Worker>> idle;    // waiting for an assignment, most recent last
        std::vector<std::shared_ptr<Worker>> ended;   // returning from their thread; to be joined
        bool closing = false;
    };

    static void work(std::shared_ptr<Shared> shared, std::shared_ptr<Worker> self);
    void joinEnded();

    std::shared_ptr<Shared> _shared;  // shared with busy workers that may outlive us
    HostFds::Watched _eventWatch;     // after _shared: forgotten before its eventfd closes
    std::map<Worker*, std::shared_ptr<Worker>> _workers;
    std::set<std::uint64_t> _outstanding;
    std::uint64_t _nextId = 1;
};

}  // namespace hostd
