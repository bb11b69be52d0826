#pragma once

#include "CallRunner.h"
#include "Config.h"
#include "EventLoop.h"
#include "LoadWatch.h"
#include "PluginImage.h"

#include <hostd/plugin.h>

#include <cstdint>
#include <memory>
#include <sys/types.h>
#include <string>
#include <utility>
#include <vector>

namespace hostd {

/// A plugin's code once loaded, as the decisions see it, however it is executed: what its
/// descriptor says. Only the executor that loaded it can run or unload it.
class PluginCode {
public:
    virtual ~PluginCode() = default;
    virtual const std::string& content() const noexcept = 0;
        /// The identity of what is loaded (PluginFile::content).
    virtual const std::string& version() const noexcept = 0;
    virtual const std::vector<std::string>& dependencies() const noexcept = 0;
        /// The descriptor's `requires`.
    virtual bool hasReload() const noexcept = 0;
    virtual std::uint64_t size() const noexcept = 0;
        /// Bytes of the file it was loaded from.
    virtual std::uint64_t heldBytes() const noexcept = 0;
        /// Bytes of it hostd holds in memory: what is mapped (PluginFile::copied).
    virtual Clock::duration loadDuration() const noexcept = 0;
    virtual bool isolated() const noexcept { return false; }
        /// Runs in a process of its own (ProcessExecutor), not in hostd's.
    virtual pid_t runnerPid() const noexcept { return 0; }
        /// The pid of that process while it lives; 0 otherwise.
};

/// The plugin callbacks the decisions ask for.
enum class PluginCall { Start, Reload, Stop };

const char* callName(PluginCall call);
    /// "start", "reload", "stop".

/// What a call needs besides the code: who it is for, and its section or its deadline.
struct CallRequest {
    std::string plugin;
    const hostd_type_context* context = nullptr;  ///< The plugin's; stable while it is loaded.
    ConfigPtr config;                             ///< Start and reload: the snapshot whose section the call gets.
    Clock::time_point deadline{};                 ///< Stop: when the plugin must be done (it is told).
};

/// Where the load, calls and unload of plugins are executed (issue: structure): the seam
/// between deciding what a plugin does next and how its code runs. The Supervisor only ever
/// talks to this; InProcessExecutor is today's way (dlopen in this process, calls on worker
/// threads), a runner process would be another. Called from the main loop only.
class PluginExecutor {
public:
    virtual ~PluginExecutor() = default;

    virtual std::unique_ptr<PluginCode> load(PluginFile file, Millis timeout) = 0;
        /// Loads a file read (and checked) by the loader. Throws LoadError.

    virtual bool unload(const std::string& plugin, std::unique_ptr<PluginCode> code, Millis timeout) = 0;
        /// Lets go of code; false, with the likely cause logged, if it stays in memory (its
        /// plugin cannot be upgraded in place any more). Null code: true.

    virtual std::uint64_t call(PluginCall which, PluginCode& code, const CallRequest& request) = 0;
        /// Starts the callback and returns its id; it completes through takeCompleted(). Throws
        /// std::system_error if it cannot be started at all.

    virtual int completionFd() const noexcept = 0;
        /// Readable when calls have completed.

    virtual std::vector<std::pair<std::uint64_t, CallResult>> takeCompleted() = 0;

    virtual void abandon(std::uint64_t id) = 0;
        /// Forgets a call past its deadline; its late completion, if any, is still reported.

    virtual bool kill(std::uint64_t id, const std::string& why) {
        (void)id, (void)why;
        return false;
    }
        /// Ends the call past its deadline by killing what runs it, if that can be done (an
        /// isolated plugin's runner): it then completes, failed, saying why. False if it cannot
        /// (code in hostd's process): abandon it instead.

    virtual void setStopping(bool stopping) { (void)stopping; }
        /// What hostd_cb_is_stopping answers in processes of this executor's.

    virtual const LoadWatch::Job* hungLoad() const noexcept = 0;
        /// The load or unload that never returned, if one did not: then nothing can be loaded
        /// or unloaded until hostd restarts. Null otherwise.
};

}  // namespace hostd
