#include "EventLoop.h"

#include <cerrno>
#include <csignal>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <system_error>
#include <vector>

namespace hostd {

namespace {

sigset_t hostSignals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD}) sigaddset(&set, s);
    return set;
}

[[noreturn]] void throwErrno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

}  // namespace

EventLoop::EventLoop() : _epoll(::epoll_create1(EPOLL_CLOEXEC)) {
    if (!_epoll) throwErrno("epoll_create1");
}

void EventLoop::add(int fd, std::function<void()> onReadable) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(_epoll.get(), EPOLL_CTL_ADD, fd, &ev) != 0) throwErrno("epoll_ctl(ADD)");
    _handlers[fd] = std::move(onReadable);
}

void EventLoop::remove(int fd) {
    ::epoll_ctl(_epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
    _handlers.erase(fd);
}

void EventLoop::runOnce(std::optional<Clock::time_point> deadline) {
    int timeoutMs = -1;
    if (deadline) {
        auto left = *deadline - Clock::now();
        if (left <= Clock::duration::zero())
            timeoutMs = 0;
        else  // round up so we never wake just before the deadline and spin
            timeoutMs = static_cast<int>(std::min<long long>(
                std::chrono::ceil<std::chrono::milliseconds>(left).count(), 24LL * 3600 * 1000));
    }
    epoll_event events[16];
    int n = ::epoll_wait(_epoll.get(), events, 16, timeoutMs);
    if (n < 0) {
        if (errno == EINTR) return;
        throwErrno("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
        auto it = _handlers.find(events[i].data.fd);
        if (it != _handlers.end()) {
            auto handler = it->second;  // a handler may remove itself
            handler();
        }
    }
}

namespace {

pid_t gMainThread = 0;

void forwardToMainThread(int sig) {
    // Only async-signal-safe calls: the signal becomes pending on the main thread, which blocks
    // it and reads it from the loop's signalfd.
    int saved = errno;
    ::syscall(SYS_tgkill, ::getpid(), gMainThread, sig);
    errno = saved;
}

}  // namespace

void blockHostSignals() {
    sigset_t set = hostSignals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    gMainThread = ::gettid();
    struct sigaction forward {};
    forward.sa_handler = &forwardToMainThread;
    sigfillset(&forward.sa_mask);
    forward.sa_flags = SA_RESTART;
    for (int s : {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2}) ::sigaction(s, &forward, nullptr);
}

SignalSource::SignalSource() {
    sigset_t set = hostSignals();
    _fd.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!_fd) throwErrno("signalfd");
    _watch = HostFds::Watched(_fd.get(), "the signalfd");
}

std::optional<int> SignalSource::read() {
    signalfd_siginfo info{};
    ssize_t n = ::read(_fd.get(), &info, sizeof info);
    if (n != static_cast<ssize_t>(sizeof info)) return std::nullopt;
    return static_cast<int>(info.ssi_signo);
}

}  // namespace hostd
