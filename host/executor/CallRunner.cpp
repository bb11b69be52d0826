#include "CallRunner.h"

#include "CrashGuard.h"

#include <cerrno>
#include <sys/eventfd.h>
#include <system_error>
#include <unistd.h>

namespace hostd {

CallRunner::CallRunner() : _shared(std::make_shared<Shared>()) {
    _shared->event.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!_shared->event) throw std::system_error(errno, std::generic_category(), "eventfd");
    _eventWatch = HostFds::Watched(_shared->event.get(), "the plugin calls' completion eventfd");
}

CallRunner::~CallRunner() {
    {
        std::lock_guard<std::mutex> lock(_shared->mutex);
        _shared->closing = true;
    }
    retireIdleWorkers();
    joinEnded();
    for (auto& [_, worker] : _workers) worker->thread.detach();  // still inside a plugin call
}

int CallRunner::fd() const noexcept { return _shared->event.get(); }

void CallRunner::work(std::shared_ptr<Shared> shared, std::shared_ptr<Worker> self) {
    CrashGuard::AltStack altStack;
    std::unique_lock<std::mutex> lock(shared->mutex);
    for (;;) {
        self->wake.wait(lock, [&] { return self->assignment.has_value() || self->quit; });
        if (!self->assignment) break;
        auto [id, job] = std::move(*self->assignment);
        self->assignment.reset();
        lock.unlock();
        auto began = std::chrono::steady_clock::now();
        CallResult result = job();
        result.duration = std::chrono::steady_clock::now() - began;
        job = nullptr;  // release what the job holds before the host learns it is done
        lock.lock();
        shared->done.emplace_back(id, std::move(result));
        // Back in the idle list before the completion can be seen, so that an unload that
        // follows this completion retires this worker too (retireIdleWorkers).
        bool stay = !shared->closing && shared->idle.size() < kMaxIdle;
        if (stay) shared->idle.push_back(self);
        std::uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(shared->event.get(), &one, sizeof one);
        if (!stay) break;
    }
    shared->ended.push_back(std::move(self));
}

std::uint64_t CallRunner::submit(Job job) {
    std::uint64_t id = _nextId++;
    std::shared_ptr<Worker> worker;
    {
        std::lock_guard<std::mutex> lock(_shared->mutex);
        if (!_shared->idle.empty()) {
            worker = std::move(_shared->idle.back());
            _shared->idle.pop_back();
            worker->assignment.emplace(id, std::move(job));
            worker->wake.notify_one();
        }
    }
    if (!worker) {
        worker = std::make_shared<Worker>();
        worker->assignment.emplace(id, std::move(job));
        worker->thread = std::thread(&CallRunner::work, _shared, worker);  // throws std::system_error
        _workers.emplace(worker.get(), worker);
    }
    _outstanding.insert(id);
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
    for (auto& [id, _] : out) _outstanding.erase(id);
    joinEnded();
    return out;
}

void CallRunner::abandon(std::uint64_t id) { _outstanding.erase(id); }

void CallRunner::retireIdleWorkers() {
    std::vector<std::shared_ptr<Worker>> retiring;
    {
        std::lock_guard<std::mutex> lock(_shared->mutex);
        retiring.swap(_shared->idle);
        for (auto& w : retiring) {
            w->quit = true;
            w->wake.notify_one();
        }
    }
    // Idle workers have no assignment: each ends at once, so these joins never wait on a plugin.
    for (auto& w : retiring) {
        w->thread.join();
        _workers.erase(w.get());
    }
    joinEnded();
}

void CallRunner::joinEnded() {
    std::vector<std::shared_ptr<Worker>> ended;
    {
        std::lock_guard<std::mutex> lock(_shared->mutex);
        ended.swap(_shared->ended);
    }
    for (auto& w : ended) {
        auto it = _workers.find(w.get());
        if (it == _workers.end()) continue;  // already joined by retireIdleWorkers
        w->thread.join();
        _workers.erase(it);
    }
}

std::string describeFailure(const CallResult& r) {
    std::string code;
    switch (r.code) {
    case HOSTD_ERR_FAILED: code = "failed"; break;
    case HOSTD_ERR_CONFIG: code = "configuration error"; break;
    case HOSTD_ERR_EXCEPTION: code = "exception"; break;
    case HOSTD_ERR_UNAVAILABLE: code = "unavailable"; break;
    default: code = "error code " + std::to_string(static_cast<int>(r.code)); break;
    }
    return r.message.empty() ? code : code + ": " + r.message;
}

}  // namespace hostd
