#pragma once

#include "PluginExecutor.h"

namespace hostd {

/// Plugins executed in hostd's own process (DESIGN.md section 3): each file's private copy is
/// dlopened under the LoadWatch (a constructor that never returns cannot hold the loop), its
/// callbacks run on CallRunner's worker threads with crash attribution and the StatusBoard's
/// accounting (and hostd's crash handlers are taken back after each one if it replaced them),
/// and an unload is a verified dlclose.
class InProcessExecutor : public PluginExecutor {
public:
    explicit InProcessExecutor(LoadWatch::Overrun onHungLoad);
        /// onHungLoad: called on the watch thread when a load or unload overruns its timeout
        /// (LoadWatch.h); it takes the loop over. Throws std::system_error.

    std::unique_ptr<PluginCode> load(PluginFile file, Millis timeout) override;
    bool unload(const std::string& plugin, std::unique_ptr<PluginCode> code, Millis timeout) override;
    std::uint64_t call(PluginCall which, PluginCode& code, const CallRequest& request) override;
    int completionFd() const noexcept override { return _calls.fd(); }
    std::vector<std::pair<std::uint64_t, CallResult>> takeCompleted() override { return _calls.takeCompleted(); }
    void abandon(std::uint64_t id) override { _calls.abandon(id); }
    const LoadWatch::Job* hungLoad() const noexcept override {
        return _loadWatch.loaderHeld() ? &_loadWatch.heldBy() : nullptr;
    }

private:
    CallRunner _calls;
    LoadWatch _loadWatch;
};

}  // namespace hostd
