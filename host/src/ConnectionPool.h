#pragma once

#include "EventLoop.h"
#include "UniqueFd.h"

#include <Poco/Net/StreamSocket.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hostd {

/// Serves accepted connections on a fixed number of threads, each connection within a total
/// deadline: a client that sends or reads one byte at a time (slowloris) has its socket shut
/// down when the deadline passes, which ends the blocked read or write. Idle, every thread
/// waits on a condition variable without a timeout: nothing wakes until a connection comes.
class ConnectionPool {
public:
    using Serve = std::function<void(Poco::Net::StreamSocket&)>;

    ConnectionPool(std::size_t workers, std::size_t maxQueued, Clock::duration deadline, Serve serve);
        /// Throws std::system_error if a thread cannot be created.
    ~ConnectionPool();
        /// Shuts down the connections in progress and joins every thread.
    ConnectionPool(const ConnectionPool&) = delete;
    ConnectionPool& operator=(const ConnectionPool&) = delete;

    bool offer(UniqueFd connection);
        /// Queues a connected (blocking) socket; false, and the socket is closed, if maxQueued
        /// connections already wait.

private:
    struct Slot {
        int fd = -1;  // the connection in progress, open while set (cleared before it is closed)
        Clock::time_point deadline = Clock::time_point::max();
    };

    void work(std::size_t slot);
    void reap();
    void stopping();

    const std::size_t _maxQueued;
    const Clock::duration _deadline;
    const Serve _serve;
    std::mutex _mutex;
    std::condition_variable _queued;
    std::condition_variable _busy;  // wakes the reaper: a slot's deadline changed
    std::deque<UniqueFd> _queue;
    std::vector<Slot> _slots;
    bool _stop = false;
    std::vector<std::thread> _threads;
};

}  // namespace hostd
