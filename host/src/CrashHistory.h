#pragma once

#include "CrashGuard.h"

#include <map>
#include <optional>
#include <string>

namespace hostd {

/// What earlier runs left in the state directory: the breadcrumb of a crash, and how many runs
/// in a row each plugin (at a given file content) crashed. A plugin that keeps crashing hostd is
/// quarantined so that, under Restart=always, the rest of the service comes back up.
class CrashHistory {
public:
    explicit CrashHistory(std::string stateDir);
        /// Reads the crash counts. If the state directory does not exist or is not writable,
        /// crash attribution is off and usable() says so.

    bool usable() const noexcept { return _usable; }
    std::string breadcrumbPath() const { return _dir + "/crash.breadcrumb"; }

    std::optional<CrashBreadcrumb> takeBreadcrumb();
        /// Reads and removes the breadcrumb of the previous run, if it crashed; counts the crash
        /// against its plugin (reset first if the plugin's content changed since).

    void countRun(const std::string& plugin, const std::string& sha256);
        /// A run the plugin broke, at this content: a crash, or a load or unload that never
        /// returned (LoadWatch.h). The count restarts for new content.

    int crashes(const std::string& plugin, const std::string& sha256) const;
        /// Consecutive crashing runs of plugin with this content (0 for other content).

    void forget(const std::string& plugin);
        /// A clean run of the plugin, or new content, or an operator's decision: count from zero.

private:
    void save() const;

    struct Entry {
        int count = 0;
        std::string sha256;
    };
    std::string _dir;
    bool _usable = false;
    std::map<std::string, Entry> _counts;
};

}  // namespace hostd
