#pragma once

#include "EventLoop.h"
#include "UniqueFd.h"

#include <Poco/Net/StreamSocket.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hostd {

/// Serves connections on a fixed number of threads, each connection within a total deadline:
/// a client that reads one byte at a time has its socket shut down when the deadline passes,
/// which ends the blocked write. Each connection comes with its request, already read (and
/// authorised) by the caller: a worker is never held by a client that has not asked anything
/// yet. Idle, every thread waits on a condition variable without a timeout: nothing wakes
/// until a connection comes.
class ConnectionPool {
public:
    using Serve = std::function<void(Poco::Net::StreamSocket&, const std::string& request)>;

    ConnectionPool(std::size_t workers, std::size_t maxQueued, Clock::duration deadline, Serve serve);
        /// Throws std::system_error if a thread cannot be created.
    ~ConnectionPool();
        /// Shuts down the connections in progress and joins every thread.
    ConnectionPool(const ConnectionPool&) = delete;
    ConnectionPool& operator=(const ConnectionPool&) = delete;

    bool offer(UniqueFd& connection, std::string request);
        /// Queues a connected socket (made blocking by the worker) with what it asked, taking
        /// connection; false if maxQueued connections already wait (connection stays the caller's).

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
    struct Job {
        UniqueFd fd;
        std::string request;
    };
    std::deque<Job> _queue;
    std::vector<Slot> _slots;
    bool _stop = false;
    std::vector<std::thread> _threads;
};

}  // namespace hostd
