#pragma once

#include "CrashGuard.h"
#include "UniqueFd.h"

#include <map>
#include <optional>
#include <string>

namespace hostd {

/// What earlier runs left in the state directory: the breadcrumb of a crash, and how many runs
/// in a row each plugin (at a given file content) crashed. A plugin that keeps crashing hostd is
/// quarantined so that, under Restart=always, the rest of the service comes back up.
///
/// The state directory must pass the trust rules (TrustedPath.h): whoever can write to it could
/// otherwise point the files hostd writes there at any file of hostd's user (root's, say).
/// Everything in it is opened relative to the checked directory's descriptor, never through a
/// symbolic link; what is read is a regular file of bounded size whose every line is checked;
/// what is written goes to a new file under a random name, renamed into place.
class CrashHistory {
public:
    static constexpr const char* kCountsFile = "crash-counts";
    static constexpr std::size_t kMaxCountsBytes = 1 << 20;  ///< 4,000 plugins' lines fit many times over.

    explicit CrashHistory(const std::string& stateDir);
        /// Opens and checks the state directory and reads the crash counts. If the directory is
        /// missing, untrusted or not writable, crash attribution is off and usable() says so,
        /// with why(). A counts file that cannot be trusted or read is ignored, with a warning.

    bool usable() const noexcept { return _usable; }
    const std::string& why() const noexcept { return _why; }
        /// Why the state directory is unusable.
    int dirFd() const noexcept { return _dir.get(); }
        /// The checked state directory (for CrashGuard::install).

    std::optional<CrashBreadcrumb> takeBreadcrumb();
        /// Reads and removes the breadcrumb of the previous run, if it crashed; counts the crash
        /// against its plugin (reset first if the plugin's content changed since). A breadcrumb
        /// that is not one CrashGuard writes is ignored (and left in place), with a warning.

    void countRun(const std::string& plugin, const std::string& content);
        /// A run the plugin broke, at this content: a crash, or a load or unload that never
        /// returned (LoadWatch.h). The count restarts for new content.

    int crashes(const std::string& plugin, const std::string& content) const;
        /// Consecutive crashing runs of plugin with this content (0 for other content).

    void forget(const std::string& plugin);
        /// A clean run of the plugin, or new content, or an operator's decision: count from zero.

    static std::optional<CrashBreadcrumb> parseBreadcrumb(const std::string& text, std::string& content);
        /// The breadcrumb in text ("NAME@CONTENT SIGNAL CALLBACK" or "- SIGNAL own-thread"), with
        /// the plugin's content hash in content; nothing if any part is not what CrashGuard writes.

private:
    void readCounts();
    void save() const;

    struct Entry {
        int count = 0;
        std::string content;
    };
    std::string _path;
    UniqueFd _dir;
    bool _usable = false;
    std::string _why;
    std::map<std::string, Entry> _counts;
};

}  // namespace hostd
