#include "ConnectionPool.h"

#include "StatusBoard.h"

#include <Poco/Net/StreamSocketImpl.h>

#include <sys/socket.h>

namespace hostd {

ConnectionPool::ConnectionPool(std::size_t workers, std::size_t maxQueued, Clock::duration deadline, Serve serve)
    : _maxQueued(maxQueued), _deadline(deadline), _serve(std::move(serve)), _slots(workers) {
    try {
        for (std::size_t i = 0; i < workers; ++i) _threads.emplace_back([this, i] { work(i); });
        _threads.emplace_back([this] { reap(); });
    } catch (...) {
        stopping();
        throw;
    }
}

ConnectionPool::~ConnectionPool() { stopping(); }

void ConnectionPool::stopping() {
    {
        std::lock_guard lock(_mutex);
        _stop = true;
        for (auto& s : _slots)
            if (s.fd >= 0) ::shutdown(s.fd, SHUT_RDWR);
    }
    _queued.notify_all();
    _busy.notify_all();
    for (auto& t : _threads)
        if (t.joinable()) t.join();
}

bool ConnectionPool::offer(UniqueFd& connection, std::string request) {
    {
        std::lock_guard lock(_mutex);
        if (_queue.size() >= _maxQueued) return false;
        _queue.push_back({std::move(connection), std::move(request)});
    }
    _queued.notify_one();
    return true;
}

void ConnectionPool::work(std::size_t slot) {
    StatusBoard::instance().tagThread("", "hostd-http");
    for (;;) {
        Job job;
        {
            std::unique_lock lock(_mutex);
            _queued.wait(lock, [&] { return _stop || !_queue.empty(); });
            if (_stop) return;
            job = std::move(_queue.front());
            _queue.pop_front();
            _slots[slot] = Slot{job.fd.get(), Clock::now() + _deadline};
        }
        _busy.notify_one();
        Poco::Net::StreamSocket socket(new Poco::Net::StreamSocketImpl(job.fd.release()));
        try {
            socket.setBlocking(true);
            _serve(socket, job.request);
        } catch (...) {
            // A broken connection is the client's problem; the worker serves the next one.
        }
        std::lock_guard lock(_mutex);
        _slots[slot] = Slot{};  // before `socket` closes the fd: the reaper never sees a reused number
    }
}

void ConnectionPool::reap() {
    StatusBoard::instance().tagThread("", "hostd-http-reap");
    std::unique_lock lock(_mutex);
    while (!_stop) {
        auto now = Clock::now();
        Clock::time_point next = Clock::time_point::max();
        for (auto& s : _slots) {
            if (s.fd < 0) continue;
            if (s.deadline <= now) {
                ::shutdown(s.fd, SHUT_RDWR);  // the worker's blocked read or write returns
                s.deadline = Clock::time_point::max();
            }
            next = std::min(next, s.deadline);
        }
        if (next == Clock::time_point::max())
            _busy.wait(lock);
        else
            _busy.wait_until(lock, next);
    }
}

}  // namespace hostd
