#include "PidFile.h"

#include "ExitCode.h"
#include "StartupError.h"

#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace hostd {

namespace {

constexpr std::size_t kMaxPidFileBytes = 32;

/// True if the file holds nothing but a pid (or nothing at all: one being created).
bool holdsOnlyAPid(int fd) {
    char buf[kMaxPidFileBytes + 1];
    ssize_t n = ::pread(fd, buf, sizeof buf, 0);
    if (n < 0 || static_cast<std::size_t>(n) > kMaxPidFileBytes) return false;
    std::string_view text(buf, static_cast<std::size_t>(n));
    if (text.ends_with('\n')) text.remove_suffix(1);
    return text.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

PidFile PidFile::acquire(const std::string& path, const TrustedOwners& owners) {
    auto refused = [&](const std::string& why) { return StartupError(kExitConfig, "pidfile " + path + ": refused: " + why); };
    UniqueFd dir;
    try {
        dir = TrustedPath::openDirectory(TrustedPath::split(path).dir, owners);
    } catch (const PathRefused& e) {
        throw refused(e.what());
    } catch (const std::system_error& e) {
        throw StartupError(kExitOsError, "cannot open pidfile " + path + ": " + e.what());
    }
    // The previous owner removes the file before it releases the lock. If that happens
    // between our open and our flock, we hold a lock on a file no longer reachable by its
    // name while a third instance may lock a new one: lock, then check the name still leads
    // to what we locked, else start over. Each retry means another instance exited meanwhile.
    for (int attempt = 0; attempt < 100; ++attempt) {
        bool created = false;
        UniqueFd fd;
        try {
            // Readable by all whatever the umask (027 for a daemon): monitoring reads the pid.
            fd = TrustedPath::openOrCreate(dir.get(), path, O_RDWR, 0644, owners, created);
        } catch (const PathRefused& e) {
            throw refused(e.rule());
        } catch (const std::system_error& e) {
            throw StartupError(kExitOsError, "cannot open pidfile " + path + ": " + e.code().message());
        }
        if (!created && !holdsOnlyAPid(fd.get()))
            throw refused("exists and holds something other than a pid; hostd never overwrites a file it did not create");
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK) throw StartupError(kExitOsError, systemErrorText("cannot lock pidfile " + path, errno));
            pid_t owner = readPid(fd.get());
            throw StartupError(kExitOsError, "hostd already running (pid " + (owner > 0 ? std::to_string(owner) : "unknown") +
                                                 ", pidfile " + path + ")");
        }
        PidFile held(path, std::move(dir), std::move(fd));
        if (!held.stillNamed()) {
            dir = std::move(held._dir);
            held._lockWatch = {};
            held._fd.reset();
            continue;
        }
        std::string text = std::to_string(::getpid()) + "\n";
        if (::ftruncate(held._fd.get(), 0) != 0 ||
            ::pwrite(held._fd.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
            throw StartupError(kExitOsError, systemErrorText("cannot write pidfile " + path, errno));
        return held;
    }
    throw StartupError(kExitOsError, "cannot lock pidfile " + path + ": it keeps being replaced");
}

std::string PidFile::refusal(const std::string& path, const TrustedOwners& owners) {
    if (std::string why = TrustedPath::refusal(path, owners, false); !why.empty()) return why;
    try {
        UniqueFd dir = TrustedPath::openDirectory(TrustedPath::split(path).dir, owners);
        UniqueFd fd = TrustedPath::openFile(dir.get(), path, O_RDONLY, owners);
        if (!holdsOnlyAPid(fd.get())) return path + ": exists and holds something other than a pid";
    } catch (const std::exception&) {
        // Missing (created at start), or unreadable here: acquire() says so.
    }
    return {};
}

PidFile& PidFile::operator=(PidFile&& other) noexcept {
    if (this != &other) {
        release();
        _path = std::move(other._path);
        _dir = std::move(other._dir);
        _fd = std::move(other._fd);
        _lockWatch = std::move(other._lockWatch);
    }
    return *this;
}

PidFile::~PidFile() { release(); }

bool PidFile::stillNamed() const {
    struct stat byName {}, byFd {};
    std::string name = TrustedPath::split(_path).name;
    return ::fstatat(_dir.get(), name.c_str(), &byName, AT_SYMLINK_NOFOLLOW) == 0 && ::fstat(_fd.get(), &byFd) == 0 &&
           byName.st_dev == byFd.st_dev && byName.st_ino == byFd.st_ino;
}

void PidFile::release() noexcept {
    if (!_fd) return;
    // Never remove a file another instance created after ours was removed by hand.
    std::string name = TrustedPath::split(_path).name;
    if (stillNamed() && ::unlinkat(_dir.get(), name.c_str(), 0) != 0) (void)!::ftruncate(_fd.get(), 0);
    _lockWatch = {};
    _fd.reset();  // releases the lock, after the removal: see acquire()
    _dir.reset();
}

pid_t PidFile::readPid(int fd) {
    char buf[32];
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return 0;
    pid_t pid = 0;
    auto [end, ec] = std::from_chars(buf, buf + n, pid);
    return ec == std::errc() && end != buf && pid > 0 ? pid : 0;
}

}  // namespace hostd
