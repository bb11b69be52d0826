#pragma once

#include "Config.h"
#include "CrashHistory.h"
#include "DirectoryWatcher.h"
#include "EventLoop.h"
#include "PluginDirectory.h"
#include "PluginExecutor.h"
#include "Scheduler.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hostd {

class PluginPrefetch;

/// The plugin directory, followed (DESIGN.md sections 3 and 4): files arriving, changing and
/// leaving while hostd runs become loaded code, refusals or removals of the Scheduler's
/// records. Every change ends with exactly the file's final content loaded and started once,
/// or with one clear error. Main loop only.
class DirectoryFollower {
public:
    DirectoryFollower(EventLoop& loop, Scheduler& scheduler, SchedulerContext context,
                      std::function<std::string()> pluginDir);

    void watch();
        /// (Re)starts the watch on pluginDir() and reconciles with what is there.
    void rescan();
        /// Reconciles with what is in the directory now: at start, after an inotify overflow,
        /// when the directory (re)appears, on SIGUSR2.
    void fileReady(const std::string& fileName);
        /// Looks at one file: loads new content, or says why not. The caller schedules.
    bool watching() const noexcept { return static_cast<bool>(_dir); }
        /// The directory is open (it exists and passes the trust rules).
    void abandonReadAhead() noexcept { _prefetch = nullptr; }
        /// The read-ahead under way lived on a stack the loop has left (a hung load).

private:
    const ConfigSnapshot& config() const { return *_ctx.config; }
    void onDirectoryEvents();
    Plugin* runsFromATakenFile(const std::string& fileName);
        /// The plugin whose image came from this file's current content, as far as hostd knows
        /// (its last look took the file): a chmod/chown/touch of it is not worth a read. Else
        /// nullptr.
    void recheckTrust(Plugin& p, const std::string& fileName);
        /// After a chmod/chown of p's file (not read again): says at once when the file stops,
        /// or starts again, passing the trust checks.
    void fileTaken(Plugin& p);
        /// A look at p's file took it (loaded, or the same content): chmods no longer re-read it.
    void trustRestored(Plugin& p);
        /// Says that p's file passes the trust checks again, if it was said that it did not.
    void filesReady(const std::vector<std::string>& fileNames);
        /// fileReady for each, in order; many are read ahead on a thread (PluginPrefetch.h).
    void fileGone(const std::string& fileName);
    Plugin& record(const std::string& name);
    TrustPolicy trustPolicy(const std::string& name) const;

    EventLoop& _loop;
    Scheduler& _scheduler;
    SchedulerContext _ctx;
    std::function<std::string()> _pluginDir;
    std::optional<PluginDirectory> _dir;
    std::unique_ptr<DirectoryWatcher> _watcher;
    PluginPrefetch* _prefetch = nullptr;  // set while filesReady runs
};

}  // namespace hostd
