#pragma once

#include "HostFds.h"
#include "UniqueFd.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hostd {

/// Watches one directory with raw inotify (DESIGN.md section 4; Poco's DirectoryWatcher
/// reports files before they are complete and drops overflows). A file counts only when it is
/// complete: IN_CLOSE_WRITE (written in place) or IN_MOVED_TO (renamed in). The parent is
/// watched too, so that the directory's removal, and its (re)creation, are seen.
class DirectoryWatcher {
public:
    /// When the parent directory is watched. inotify cannot filter a directory's events by
    /// name, so a parent watch wakes hostd for every entry made or removed next to the
    /// directory (in /tmp, for every compiler temporary): keep it only where it is needed.
    enum class ParentWatch {
        Always,        ///< The caller holds the directory open: its removal sends no
                       ///< IN_DELETE_SELF until the fd is closed; only the parent sees it.
        WhileMissing,  ///< Removal is seen by IN_DELETE_SELF/IN_MOVE_SELF; the parent is
                       ///< watched only to see the directory (re)appear.
    };

    /// What happened, after a batch of inotify events is read.
    struct Change {
        enum Kind {
            FileReady,    ///< name is complete (closed after writing, or renamed in)
            FileChanged,  ///< name's attributes changed (chmod, chown): worth another look
            FileGone,     ///< name was deleted or renamed away
            Rescan,       ///< the event queue overflowed, or the directory (re)appeared: list it again
            DirGone,      ///< the directory was removed or renamed away
        } kind;
        std::string name;  ///< File name within the directory (FileReady/FileChanged/FileGone).
    };

    explicit DirectoryWatcher(std::string dir, ParentWatch parentWatch = ParentWatch::Always);
        /// Creates the inotify instance and starts watching (or waits for the directory to
        /// appear). Throws std::system_error if inotify is unavailable.

    int fd() const noexcept { return _inotify.get(); }
        /// Readable when events are waiting.

    bool watching() const noexcept { return _dirWatch >= 0; }
        /// True while the directory itself is watched (it exists).

    std::vector<Change> read();
        /// Reads every queued event and translates them, in order.

private:
    void arm();
    void lost(std::vector<Change>& out);
        /// The directory went away: report it, and re-arm in case it is already back.

    bool createdWhole(const std::string& name, std::uint32_t mask) const;
        /// An entry IN_CREATE reported that no IN_CLOSE_WRITE will follow.

    std::string _dir;
    std::string _parent, _base;
    UniqueFd _inotify;
    HostFds::Watched _inotifyWatch;  // after _inotify: forgotten before it closes
    int _dirWatch = -1;
    int _parentWatch = -1;
    ParentWatch _parentPolicy;
};

}  // namespace hostd
