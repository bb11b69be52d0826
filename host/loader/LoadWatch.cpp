#include "LoadWatch.h"

#include "CrashGuard.h"

#include <cerrno>
#include <cstdint>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <system_error>
#include <unistd.h>

namespace hostd {

namespace {

std::int64_t nowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void setTimer(int fd, std::chrono::steady_clock::duration after) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(after).count();
    if (after > std::chrono::steady_clock::duration::zero() && ns == 0) ns = 1;  // 0 would disarm
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
    spec.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
    ::timerfd_settime(fd, 0, &spec, nullptr);
}

}  // namespace

LoadWatch::LoadWatch(Overrun onOverrun)
    : _onOverrun(std::move(onOverrun)),
      _timer(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)),
      _stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!_timer || !_stop) throw std::system_error(errno, std::generic_category(), "load watch");
    _thread = std::thread([this] { watch(); });
}

LoadWatch::~LoadWatch() {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(_stop.get(), &one, sizeof one);
    _thread.join();
}

void LoadWatch::begin(Job job, std::chrono::steady_clock::duration limit) {
    _job = std::move(job);
    _deadlineNs.store(nowNs() + std::chrono::duration_cast<std::chrono::nanoseconds>(limit).count(),
                      std::memory_order_relaxed);
    _running = ((_word.load(std::memory_order_relaxed) & ~std::uint64_t{kStateMask}) + 4) | kRunning;
    _word.store(_running, std::memory_order_release);
    setTimer(_timer.get(), limit);
}

void LoadWatch::end() noexcept {
    setTimer(_timer.get(), {});
    std::uint64_t running = _running;
    if (_word.compare_exchange_strong(running, (_running & ~std::uint64_t{kStateMask}) | kIdle, std::memory_order_acq_rel))
        return;
    // Overran and taken over: the loop belongs to the watch thread now, and this thread's callers
    // are frames of a batch it has abandoned. Signals are blocked here (DESIGN.md section 1).
    for (;;) ::pause();
}

void LoadWatch::watch() {
    CrashGuard::AltStack altStack;  // the loop may run here: its crashes are reported like the main thread's
    for (;;) {
        pollfd fds[2] = {{_timer.get(), POLLIN, 0}, {_stop.get(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) continue;  // EINTR
        if (fds[1].revents != 0) return;
        std::uint64_t ticks = 0;
        if (::read(_timer.get(), &ticks, sizeof ticks) != sizeof ticks) continue;  // re-armed meanwhile
        // A tick of an earlier job can land just as the next begins: only the job under way,
        // past its own deadline, has overrun, and only if it is still under way at the swap.
        std::uint64_t word = _word.load(std::memory_order_acquire);
        if ((word & kStateMask) != kRunning || nowNs() < _deadlineNs.load(std::memory_order_relaxed)) continue;
        if (!_word.compare_exchange_strong(word, (word & ~std::uint64_t{kStateMask}) | kOverran,
                                           std::memory_order_acq_rel))
            continue;
        _onOverrun(_job);  // runs the loop until the process ends
        return;
    }
}

}  // namespace hostd
