#include "CallRunner.h"

#include "CrashGuard.h"

#include <cerrno>
#include <sys/eventfd.h>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace hostd {

CallRunner::CallRunner() : _shared(std::make_shared<Shared>()) {
    _shared->event.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!_shared->event) throw std::system_error(errno, std::generic_category(), "eventfd");
}

CallRunner::~CallRunner() {
    for (auto& [id, thread] : _threads) thread.detach();
}

int CallRunner::fd() const noexcept { return _shared->event.get(); }

std::uint64_t CallRunner::submit(Job job) {
    std::uint64_t id = _nextId++;
    std::thread thread([shared = _shared, id, job = std::move(job)]() mutable {
        CrashGuard::AltStack altStack;
        auto began = std::chrono::steady_clock::now();
        CallResult result = job();
        result.duration = std::chrono::steady_clock::now() - began;
        job = nullptr;  // release what the job holds before the host learns it is done
        {
            std::lock_guard<std::mutex> lock(shared->mutex);
            shared->done.emplace_back(id, std::move(result));
        }
        std::uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(shared->event.get(), &one, sizeof one);
    });
    _threads.emplace(id, std::move(thread));
    return id;
}

std::vector<std::pair<std::uint64_t, CallResult>> CallRunner::takeCompleted() {
    std::uint64_t count = 0;
    [[maybe_unused]] ssize_t n = ::read(_shared->event.get(), &count, sizeof count);
    std::vector<std::pair<std::uint64_t, CallResult>> out;
    {
        std::lock_guard<std::mutex> lock(_shared->mutex);
        out.assign(std::make_move_iterator(_shared->done.begin()), std::make_move_iterator(_shared->done.end()));
        _shared->done.clear();
    }
    for (auto& [id, _] : out) {
        auto it = _threads.find(id);
        if (it == _threads.end()) continue;  // abandoned earlier
        it->second.join();                   // the thread is past its last use of the job
        _threads.erase(it);
    }
    return out;
}

void CallRunner::abandon(std::uint64_t id) {
    auto it = _threads.find(id);
    if (it == _threads.end()) return;
    it->second.detach();
    _threads.erase(it);
}

}  // namespace hostd
