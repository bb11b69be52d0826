#pragma once

#include "UniqueFd.h"

#include <hostd/plugin.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <map>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

namespace hostd {

/// What a plugin callback returned.
struct CallResult {
    hostd_type_result code = HOSTD_OK;
    std::string message;
    std::chrono::steady_clock::duration duration{};
};

/// Runs plugin callbacks on their own threads so the main loop never blocks on a plugin.
/// A call that overruns its deadline is abandoned by the caller: its thread keeps running
/// (a thread cannot be killed in-process) and its late completion is still reported.
/// Completions are announced on an eventfd the main loop polls.
class CallRunner {
public:
    using Job = std::function<CallResult()>;

    CallRunner();
        /// Throws std::system_error.
    ~CallRunner();
        /// Detaches the threads of calls not yet taken; their completions are dropped.
    CallRunner(const CallRunner&) = delete;
    CallRunner& operator=(const CallRunner&) = delete;

    int fd() const noexcept;
        /// Readable when completions are waiting.

    std::uint64_t submit(Job job);
        /// Starts job on a new thread; returns the call's id. Throws std::system_error if no
        /// thread can be created.

    std::vector<std::pair<std::uint64_t, CallResult>> takeCompleted();
        /// Completed calls since the last take, in completion order; their threads are joined.

    void abandon(std::uint64_t id);
        /// Detaches the thread of a call that overran its deadline; its completion, if it ever
        /// comes, is still reported.

    std::size_t running() const noexcept { return _threads.size(); }
        /// Calls whose threads are neither joined nor abandoned.

private:
    struct Shared {
        UniqueFd event;
        std::mutex mutex;
        std::deque<std::pair<std::uint64_t, CallResult>> done;
    };
    std::shared_ptr<Shared> _shared;  // shared with abandoned threads that may outlive us
    std::map<std::uint64_t, std::thread> _threads;
    std::uint64_t _nextId = 1;
};

}  // namespace hostd
