#pragma once

#include "Config.h"
#include "DirectoryWatcher.h"
#include "EventLoop.h"

#include <Poco/JSON/Object.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace hostd {

/// Notices edits of the configuration file and its drop-ins, to reload once they settle.
/// Watches directories, not the file: editors and sed -i replace the file by a rename, and a
/// watch on the old inode goes silent (DESIGN.md section 4). A burst of changes (an editor, a
/// package) reloads once it is quiet for 100 ms, and at the latest 1 s after its first change.
class ConfigWatch {
public:
    ConfigWatch(EventLoop& loop, std::string mainFile) : _loop(loop), _mainFile(std::move(mainFile)) {}

    void watch();
        /// Starts watching; a failure is logged (reloads then need SIGHUP).
    void pause(bool paused) noexcept { _paused = paused; }
        /// While paused (the drain), changes are ignored.
    std::optional<Clock::time_point> nextDeadline() const;
        /// When a settled burst of changes is due, if one is under way.
    bool due(Clock::time_point now);
        /// True once, when a burst of changes has settled: reload now.

private:
    void onEvents(DirectoryWatcher& watcher, bool dropins);

    EventLoop& _loop;
    std::string _mainFile;
    bool _paused = false;
    std::unique_ptr<DirectoryWatcher> _dirWatcher;     // the main file's directory
    std::unique_ptr<DirectoryWatcher> _dropinWatcher;  // <main file>.d/
    Clock::time_point _due = Clock::time_point::max();
    Clock::time_point _firstChange = Clock::time_point::max();
};

// What a configuration reload reports, apart from applying it.

void applyLogLevels(const ConfigSnapshot& config);
    /// Sets the host's level, each plugin's log_level filter and log_rate_limit from the
    /// configuration.

void warnAboutRestartOnlyKeys(const ConfigSnapshot& old, const ConfigSnapshot& now, const std::string& mainFile);
    /// Identity, limits and files opened once at startup cannot change in a running process
    /// (privileges are dropped for good before any thread exists): each one that changed is
    /// named, with where it was set.

Poco::JSON::Object::Ptr reloadRecord(std::string_view why, const ConfigLoad& load, unsigned generation);
    /// hostctl status's last_reload: when, why, the generation in effect after it, its errors.

}  // namespace hostd
