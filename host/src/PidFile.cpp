#include "PidFile.h"

#include "ExitCode.h"
#include "StartupError.h"

#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hostd {

namespace {

bool sameFile(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

/// True if path still names the file open as fd.
bool stillNamed(const std::string& path, int fd) {
    struct stat byPath {}, byFd {};
    return ::stat(path.c_str(), &byPath) == 0 && ::fstat(fd, &byFd) == 0 && sameFile(byPath, byFd);
}

}  // namespace

PidFile PidFile::acquire(const std::string& path) {
    // The previous owner removes the file before it releases the lock. If that happens
    // between our open and our flock, we hold a lock on a file no longer reachable by its
    // name while a third instance may lock a new one: lock, then check the name still leads
    // to what we locked, else start over. Each retry means another instance exited meanwhile.
    for (int attempt = 0; attempt < 100; ++attempt) {
        UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644));
        if (!fd) throw StartupError(kExitOsError, systemErrorText("cannot open pidfile " + path, errno));
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
            throw StartupError(kExitOsError, "pidfile " + path + " is not a regular file");
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK) throw StartupError(kExitOsError, systemErrorText("cannot lock pidfile " + path, errno));
            pid_t owner = readPid(fd.get());
            throw StartupError(kExitOsError, "hostd already running (pid " + (owner > 0 ? std::to_string(owner) : "unknown") +
                                                 ", pidfile " + path + ")");
        }
        if (!stillNamed(path, fd.get())) continue;
        std::string text = std::to_string(::getpid()) + "\n";
        // Readable by all whatever the umask (027 for a daemon): monitoring reads the pid. Not
        // fatal: a file created by another user may refuse it and still be usable.
        (void)::fchmod(fd.get(), 0644);
        if (::ftruncate(fd.get(), 0) != 0 ||
            ::pwrite(fd.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
            throw StartupError(kExitOsError, systemErrorText("cannot write pidfile " + path, errno));
        return PidFile(path, std::move(fd));
    }
    throw StartupError(kExitOsError, "cannot lock pidfile " + path + ": it keeps being replaced");
}

PidFile& PidFile::operator=(PidFile&& other) noexcept {
    if (this != &other) {
        release();
        _path = std::move(other._path);
        _fd = std::move(other._fd);
    }
    return *this;
}

PidFile::~PidFile() { release(); }

void PidFile::release() noexcept {
    if (!_fd) return;
    // Never remove a file another instance created after ours was removed by hand.
    if (stillNamed(_path, _fd.get()) && ::unlink(_path.c_str()) != 0) (void)!::ftruncate(_fd.get(), 0);
    _fd.reset();  // releases the lock, after the removal: see acquire()
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
