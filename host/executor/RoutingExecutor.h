#pragma once

#include "PluginExecutor.h"

#include <functional>
#include <memory>
#include <string>

namespace hostd {

/// The executor the Supervisor talks to: each plugin's load goes to the executor its isolation
/// names (isolation = in-process | process, read when it loads), and everything after the load
/// to the one that loaded it. One completion fd for both.
class RoutingExecutor : public PluginExecutor {
public:
    using Isolated = std::function<bool(const std::string& plugin)>;

    RoutingExecutor(std::unique_ptr<PluginExecutor> inProcess, std::unique_ptr<PluginExecutor> isolated, Isolated isIsolated);
        /// Call ids of the two must not overlap (ProcessExecutor's start at 2^62). Throws
        /// std::system_error.

    std::unique_ptr<PluginCode> load(PluginFile file, Millis timeout) override;
    bool unload(const std::string& plugin, std::unique_ptr<PluginCode> code, Millis timeout) override;
    std::uint64_t call(PluginCall which, PluginCode& code, const CallRequest& request) override;
    int completionFd() const noexcept override { return _epoll.get(); }
    std::vector<std::pair<std::uint64_t, CallResult>> takeCompleted() override;
    void abandon(std::uint64_t id) override { of(id).abandon(id); }
    bool kill(std::uint64_t id, const std::string& why) override { return of(id).kill(id, why); }
    void setStopping(bool stopping) override;
    const LoadWatch::Job* hungLoad() const noexcept override { return _inProcess->hungLoad(); }

private:
    PluginExecutor& of(std::uint64_t id) { return id >= (std::uint64_t{1} << 62) ? *_isolated : *_inProcess; }
    PluginExecutor& of(const PluginCode& code) { return code.isolated() ? *_isolated : *_inProcess; }

    std::unique_ptr<PluginExecutor> _inProcess, _isolated;
    Isolated _isIsolated;
    UniqueFd _epoll;
    HostFds::Watched _epollWatch;
};

}  // namespace hostd
