#include "DirectoryWatcher.h"

#include <cerrno>
#include <climits>
#include <fcntl.h>
#include <sys/stat.h>
#include <cstring>
#include <sys/inotify.h>
#include <system_error>
#include <unistd.h>

namespace hostd {

namespace {

constexpr std::uint32_t kDirMask = IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB |
                                   IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK;
// The parent is watched all the time: while hostd holds the directory open (it does, to openat
// plugin files), removing the directory sends no IN_DELETE_SELF, but the parent sees the name go.
constexpr std::uint32_t kParentMask = IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR;

}  // namespace

DirectoryWatcher::DirectoryWatcher(std::string dir, ParentWatch parentWatch)
    : _dir(std::move(dir)), _parentPolicy(parentWatch) {
    while (_dir.size() > 1 && _dir.back() == '/') _dir.pop_back();
    auto slash = _dir.rfind('/');
    _parent = slash == 0 ? "/" : _dir.substr(0, slash);
    _base = _dir.substr(slash + 1);
    _inotify.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!_inotify) throw std::system_error(errno, std::generic_category(), "inotify_init1");
    _inotifyWatch = HostFds::Watched(_inotify.get(), "an inotify watch");
    arm();
}

void DirectoryWatcher::arm() {
    // Watch the parent first, then the directory: a directory made between the two calls is
    // still seen. A file that lands before the directory is watched is seen by the Rescan the
    // caller does after arming.
    if (_parentPolicy == ParentWatch::WhileMissing) {
        _dirWatch = ::inotify_add_watch(_inotify.get(), _dir.c_str(), kDirMask);
        if (_dirWatch >= 0) {
            if (_parentWatch >= 0) ::inotify_rm_watch(_inotify.get(), _parentWatch);
            _parentWatch = -1;
            return;
        }
    }
    if (_parentWatch < 0) _parentWatch = ::inotify_add_watch(_inotify.get(), _parent.c_str(), kParentMask);
    _dirWatch = ::inotify_add_watch(_inotify.get(), _dir.c_str(), kDirMask);
    if (_dirWatch >= 0 && _parentPolicy == ParentWatch::WhileMissing) {
        ::inotify_rm_watch(_inotify.get(), _parentWatch);  // it appeared between the two calls
        _parentWatch = -1;
    }
}

void DirectoryWatcher::lost(std::vector<Change>& out) {
    if (_dirWatch >= 0) ::inotify_rm_watch(_inotify.get(), _dirWatch);
    _dirWatch = -1;
    out.push_back({Change::DirGone, {}});
    arm();  // it may already be back
    if (_dirWatch >= 0) out.push_back({Change::Rescan, {}});
}

bool DirectoryWatcher::createdWhole(const std::string& name, std::uint32_t mask) const {
    // A regular file being written is complete at IN_CLOSE_WRITE. What no one writes is complete
    // as it is made: a FIFO or device node (mkfifo, mknod), a directory, a symbolic link, a hard
    // link to an existing file. Each gets its look (and its refusal) now, not never.
    if (mask & IN_ISDIR) return true;
    struct stat st {};
    if (::fstatat(AT_FDCWD, (_dir + "/" + name).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return false;  // gone already
    return !S_ISREG(st.st_mode) || st.st_nlink > 1;
}

std::vector<DirectoryWatcher::Change> DirectoryWatcher::read() {
    std::vector<Change> out;
    alignas(inotify_event) char buf[64 * (sizeof(inotify_event) + NAME_MAX + 1)];
    for (;;) {
        ssize_t n = ::read(_inotify.get(), buf, sizeof buf);
        if (n <= 0) break;  // EAGAIN: drained
        for (char* p = buf; p < buf + n;) {
            auto* ev = reinterpret_cast<inotify_event*>(p);
            p += sizeof(inotify_event) + ev->len;
            std::string name = ev->len > 0 ? std::string(ev->name) : std::string();
            if (ev->mask & IN_Q_OVERFLOW) {
                out.push_back({Change::Rescan, {}});
            } else if (ev->wd == _dirWatch && _dirWatch >= 0) {
                if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
                    lost(out);
                } else if (ev->mask & IN_IGNORED) {
                    continue;
                } else if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
                    out.push_back({Change::FileReady, name});
                } else if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
                    out.push_back({Change::FileGone, name});
                } else if (ev->mask & IN_ATTRIB) {
                    out.push_back({Change::FileChanged, name});
                } else if ((ev->mask & IN_CREATE) && createdWhole(name, ev->mask)) {
                    out.push_back({Change::FileReady, name});
                }
            } else if (ev->wd == _parentWatch && _parentWatch >= 0 && name == _base) {
                if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
                    if (_dirWatch >= 0) lost(out);
                } else if (_dirWatch < 0) {
                    arm();
                    if (_dirWatch >= 0) out.push_back({Change::Rescan, {}});
                }
            }
        }
    }
    return out;
}

}  // namespace hostd
