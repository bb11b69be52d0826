#include "ControlSocket.h"

#include "ExitCode.h"
#include "Log.h"
#include "StartupError.h"
#include "TrustedPath.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <system_error>
#include <utility>

namespace hostd {

namespace {

constexpr std::size_t kMaxPath = sizeof(sockaddr_un::sun_path) - 1;

std::string dirName(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == 0 ? "/" : path.substr(0, slash);
}

bool toAddress(const std::string& path, sockaddr_un& addr) {
    if (path.size() > kMaxPath) return false;
    addr = {};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    return true;
}

[[noreturn]] void failErrno(int code, const std::string& what) { throw StartupError(code, systemErrorText(what, errno)); }

/// Returns false if the directory does not exist; throws if it exists but is not to be trusted.
bool checkDirectory(const std::string& socketPath, const std::string& dir, const TrustedOwners& owners) {
    try {
        TrustedPath::openDirectory(dir, owners);
        return true;
    } catch (const PathRefused& e) {
        throw StartupError(kExitConfig, "control_socket " + socketPath + ": directory " + dir + " refused: " + e.about(dir));
    } catch (const std::system_error& e) {
        if (e.code() == std::errc::no_such_file_or_directory) return false;
        throw StartupError(kExitOsError, "control_socket " + socketPath + ": cannot inspect directory " + dir + ": " + e.what());
    }
}

/// Deals with whatever already is at path: nothing, a live listener (refused), or a socket file
/// left by a hostd that was killed (removed).
void clearStale(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return;
        failErrno(kExitOsError, "control_socket " + path + ": cannot inspect it");
    }
    if (!S_ISSOCK(st.st_mode)) throw StartupError(kExitConfig, "control_socket " + path + " exists and is not a socket");
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!probe) failErrno(kExitOsError, "socket(AF_UNIX)");
    sockaddr_un addr{};
    toAddress(path, addr);
    // EAGAIN: the listener's backlog is full, which still means somebody listens.
    if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 || errno == EAGAIN)
        throw StartupError(kExitOsError, "another hostd is listening on " + path);
    if (errno != ECONNREFUSED) failErrno(kExitOsError, "control_socket " + path + ": cannot tell whether it is in use");
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        failErrno(kExitOsError, "control_socket " + path + ": cannot remove the stale socket");
    HOSTD_LOG(Notice, "", "removed a stale control socket (nobody listened on it)", {"path", path});
}

}  // namespace

std::string ControlSocket::directoryRefusal(const std::string& path, const TrustedOwners& owners) {
    try {
        checkDirectory(path, dirName(path), owners);
    } catch (const StartupError& e) {
        return e.what();
    }
    return {};
}

std::optional<ControlSocket> ControlSocket::open(const std::string& path, bool explicitlySet, const TrustedOwners& owners,
                                                 std::optional<gid_t> group) {
    std::string dir = dirName(path);
    if (!checkDirectory(path, dir, owners)) {
        if (explicitlySet)
            throw StartupError(kExitConfig, "control_socket " + path + ": directory " + dir + " does not exist");
        HOSTD_LOG(Warning, "", "control socket directory does not exist; running without hostctl access",
                  {"path", path}, {"hint", "set control_socket in [hostd], or run under systemd (RuntimeDirectory=hostd)"});
        return std::nullopt;
    }
    clearStale(path);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) failErrno(kExitOsError, "socket(AF_UNIX)");
    // Bound under a temporary name, given its mode, listening, and only then renamed into place:
    // the real name never exists with the umask's mode, nor as a socket that refuses
    // connections (which a second hostd starting now would take for stale).
    std::string tmp = dir + (dir == "/" ? "" : "/") + TrustedPath::temporaryName("hostd-control");
    sockaddr_un addr{};
    if (!toAddress(tmp, addr))
        throw StartupError(kExitConfig, "control_socket " + path + ": directory name too long for a unix socket");
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        failErrno(kExitOsError, "control_socket: bind " + tmp);
    // A group the process is not in (not root, no CAP_CHOWN) is refused by the kernel: then only
    // root and hostd's user can connect, and the log says why.
    if (group && ::chown(tmp.c_str(), static_cast<uid_t>(-1), *group) != 0)
        HOSTD_LOG(Warning, "", "cannot give the control socket to control_group; its members cannot connect",
                  {"path", path}, {"gid", std::to_string(*group)}, {"error", std::strerror(errno)});
    struct stat st {};
    if (::chmod(tmp.c_str(), 0660) != 0 || ::listen(fd.get(), 64) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0 ||
        ::lstat(path.c_str(), &st) != 0) {
        int saved = errno;
        ::unlink(tmp.c_str());
        errno = saved;
        failErrno(kExitOsError, "control_socket: cannot create " + path);
    }
    HOSTD_LOG(Info, "", "control socket listening", {"path", path}, {"mode", "0660"});
    return ControlSocket(std::move(fd), path, st.st_dev, st.st_ino);
}

ControlSocket::ControlSocket(UniqueFd fd, std::string path, dev_t dev, ino_t ino)
    : _fd(std::move(fd)), _watch(_fd.get(), "the control socket"), _path(std::move(path)), _dev(dev), _ino(ino) {}

ControlSocket::ControlSocket(ControlSocket&& other) noexcept
    : _fd(std::move(other._fd)), _watch(std::move(other._watch)), _path(std::move(other._path)), _dev(other._dev),
      _ino(other._ino) {
    other._path.clear();
}

ControlSocket& ControlSocket::operator=(ControlSocket&& other) noexcept {
    if (this != &other) {
        removeFile();
        _watch = {};
        _fd = std::move(other._fd);
        _watch = std::move(other._watch);
        _path = std::exchange(other._path, {});
        _dev = other._dev;
        _ino = other._ino;
    }
    return *this;
}

ControlSocket::~ControlSocket() { removeFile(); }

void ControlSocket::removeFile() noexcept {
    if (_path.empty()) return;
    // Only our own file: a second hostd may have replaced it after this one was refused, or
    // an operator may have moved things around.
    struct stat st {};
    if (::lstat(_path.c_str(), &st) == 0 && st.st_dev == _dev && st.st_ino == _ino) ::unlink(_path.c_str());
}

}  // namespace hostd
