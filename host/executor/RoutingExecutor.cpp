#include "RoutingExecutor.h"

#include <cerrno>
#include <sys/epoll.h>
#include <system_error>

namespace hostd {

RoutingExecutor::RoutingExecutor(std::unique_ptr<PluginExecutor> inProcess, std::unique_ptr<PluginExecutor> isolated,
                                 Isolated isIsolated)
    : _inProcess(std::move(inProcess)),
      _isolated(std::move(isolated)),
      _isIsolated(std::move(isIsolated)),
      _epoll(::epoll_create1(EPOLL_CLOEXEC)),
      _epollWatch(_epoll.get(), "the executors' epoll") {
    if (!_epoll) throw std::system_error(errno, std::generic_category(), "epoll_create1");
    for (PluginExecutor* e : {_inProcess.get(), _isolated.get()}) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = e->completionFd();
        if (::epoll_ctl(_epoll.get(), EPOLL_CTL_ADD, e->completionFd(), &ev) != 0)
            throw std::system_error(errno, std::generic_category(), "epoll_ctl");
    }
}

std::unique_ptr<PluginCode> RoutingExecutor::load(PluginFile file, Millis timeout) {
    return (_isIsolated(file.name) ? *_isolated : *_inProcess).load(std::move(file), timeout);
}

bool RoutingExecutor::unload(const std::string& plugin, std::unique_ptr<PluginCode> code, Millis timeout) {
    if (!code) return true;
    PluginExecutor& e = of(*code);
    return e.unload(plugin, std::move(code), timeout);
}

std::uint64_t RoutingExecutor::call(PluginCall which, PluginCode& code, const CallRequest& request) {
    return of(code).call(which, code, request);
}

std::vector<std::pair<std::uint64_t, CallResult>> RoutingExecutor::takeCompleted() {
    // Nothing to read from _epoll itself: it is readable exactly while one of the two is.
    auto done = _inProcess->takeCompleted();
    for (auto& c : _isolated->takeCompleted()) done.push_back(std::move(c));
    return done;
}

void RoutingExecutor::setStopping(bool stopping) {
    _inProcess->setStopping(stopping);
    _isolated->setStopping(stopping);
}

}  // namespace hostd
