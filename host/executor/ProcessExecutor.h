#pragma once

#include "HostFds.h"
#include "PluginExecutor.h"
#include "UniqueFd.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace hostd {

/// Isolated plugins (isolation = process, DESIGN.md section 10): each loaded plugin runs in a
/// hostd-runner process of its own, given the private copy hostd made and checked (the runner
/// never opens the operator's file) and a SOCK_SEQPACKET socket (runner/RunnerProtocol.h). A
/// runner is tracked by a pidfd: its end, however it comes (exit, signal, kill), is read here
/// and never reaches hostd's own process. A call past its deadline gets its runner killed, so
/// an isolated plugin never stays stuck; the next start of its code spawns a fresh runner from
/// the same copy.
///
/// While an isolated plugin runs, one spare runner waits, spawned after the last load, so that
/// a load's path has no spawn, exec or dynamic linking in it (nor, for a C++ plugin, loading
/// libstdc++: a spare has it loaded while it waits); it is ended with the last isolated plugin.
///
/// Loads and unloads wait for the runner (at most their timeout, then it is killed); calls
/// complete through completionFd(), as in-process ones do. Every fd of this executor's runners
/// is watched on one epoll instance, which is what completionFd() is. Main loop only.
class ProcessExecutor : public PluginExecutor {
public:
    using Failed = std::function<void(const std::string& plugin, const std::string& message, bool runnerDied)>;
        /// A running plugin reported a failure (hostd_cb_report_failure), or its runner ended
        /// while no call was in flight.

    using Configuration = std::function<ConfigPtr()>;

    ProcessExecutor(std::string runnerPath, Failed onFailed, Configuration config);
        /// config: the configuration in effect, whose [plugin.NAME] confinement a runner gets
        /// when it is spawned. Throws std::system_error.
    ~ProcessExecutor() override;
        /// Kills and reaps every runner still there.

    std::unique_ptr<PluginCode> load(PluginFile file, Millis timeout) override;
    bool unload(const std::string& plugin, std::unique_ptr<PluginCode> code, Millis timeout) override;
    std::uint64_t call(PluginCall which, PluginCode& code, const CallRequest& request) override;
    int completionFd() const noexcept override { return _epoll.get(); }
    std::vector<std::pair<std::uint64_t, CallResult>> takeCompleted() override;
    void abandon(std::uint64_t id) override;
    bool kill(std::uint64_t id, const std::string& why) override;
    void setStopping(bool stopping) override;
    const LoadWatch::Job* hungLoad() const noexcept override { return nullptr; }

    std::size_t runners() const noexcept { return _runners.size(); }
        /// Runners alive.

    struct Runner;

private:
    std::shared_ptr<Runner> spawn(const std::string& plugin, int memfd, Millis timeout);
        /// A runner (the spare if there is one, else a new one) that loaded the plugin from memfd,
        /// kept as the plugin's. Throws LoadError.
    std::shared_ptr<Runner> newRunner(bool spare = false);
    std::shared_ptr<Runner> takeSpare();
    void startSpare();
        /// Spawns the spare runner the next load takes, if none waits and an isolated plugin runs.
    void dropSpare();
    bool waitFor(Runner& r, Clock::time_point deadline, const std::function<bool()>& done);
    void readSocket(Runner& r, int budget);
    void readOutput(Runner& r, bool err);
    void ended(Runner& r);
    void watch(const std::shared_ptr<Runner>& r);
    void unwatch(Runner& r);
    void complete(std::uint64_t id, CallResult result);
    void retire(Runner& r, Millis timeout);
    Confinement confinementOf(const std::string& plugin) const;

    std::string _runnerPath;
    Failed _onFailed;
    Configuration _config;
    UniqueFd _epoll;
    UniqueFd _wake;  // in _epoll: completions made without a runner's help
    HostFds::Watched _epollWatch;
    std::map<int, std::shared_ptr<Runner>> _byFd;  // every watched fd of every live runner
    std::map<Runner*, std::shared_ptr<Runner>> _runners;
    std::shared_ptr<Runner> _spare;  // started for the next load, greeted or not; not watched
    bool _spareWanted = false;       // a load took a runner: the next one is spawned in takeCompleted()
    std::vector<std::pair<std::uint64_t, CallResult>> _done;
    std::uint64_t _nextId = std::uint64_t{1} << 62;  // apart from InProcessExecutor's ids
    std::uint32_t _nextWireId = 0;                   // a call's id on a runner's socket
    bool _stopping = false;
};

}  // namespace hostd
