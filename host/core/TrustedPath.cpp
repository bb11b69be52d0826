#include "TrustedPath.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <deque>
#include <fcntl.h>
#include <sys/random.h>
#include <system_error>
#include <unistd.h>

namespace hostd {

TrustedOwners TrustedOwners::current() {
    TrustedOwners owners;
    owners.add(::geteuid());
    return owners;
}

TrustedOwners& TrustedOwners::add(uid_t uid) {
    if (!contains(uid)) _uids.push_back(uid);
    return *this;
}

bool TrustedOwners::contains(uid_t uid) const noexcept {
    return std::find(_uids.begin(), _uids.end(), uid) != _uids.end();
}

std::string TrustedOwners::describe() const {
    std::string out = "root";
    for (uid_t uid : _uids)
        if (uid != 0) out += " or uid " + std::to_string(uid);
    return out;
}

namespace TrustedPath {

namespace {

constexpr int kMaxSymlinks = 40;  // as the kernel's own path walk

std::string octal(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

[[noreturn]] void fail(int err, const std::string& what) { throw std::system_error(err, std::generic_category(), what); }

std::string joinPath(const std::string& dir, const std::string& name) { return dir == "/" ? "/" + name : dir + "/" + name; }

std::string parentPath(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

/// The components of path, without empty ones and ".".
std::deque<std::string> components(std::string_view path) {
    std::deque<std::string> out;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        std::string_view c = path.substr(start, end - start);
        if (!c.empty() && c != ".") out.emplace_back(c);
        start = end + 1;
    }
    return out;
}

std::string readLink(int fd, const std::string& where) {
    std::string target(4096, '\0');
    ssize_t n = ::readlinkat(fd, "", target.data(), target.size());  // fd is an O_PATH fd of the link
    if (n < 0) fail(errno, "cannot read symbolic link " + where);
    target.resize(static_cast<std::size_t>(n));
    return target;
}

UniqueFd openRoot() {
    UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) fail(errno, "cannot open /");
    return root;
}

void checkDirectory(int fd, const std::string& where, const TrustedOwners& owners, bool ancestor) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) fail(errno, "cannot stat " + where);
    if (!S_ISDIR(st.st_mode)) throw PathRefused(where, "not a directory");
    if (std::string why = violation(st, owners, ancestor); !why.empty()) throw PathRefused(where, why);
}

}  // namespace

std::string violation(const struct stat& st, const TrustedOwners& owners, bool stickyAncestor) {
    if (!owners.contains(st.st_uid))
        return "owned by uid " + std::to_string(st.st_uid) + ", must be owned by " + owners.describe();
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(stickyAncestor && S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX)))
        return "group- or world-writable (mode " + octal(st.st_mode) + ")";
    return {};
}

UniqueFd openDirectory(const std::string& path, const TrustedOwners& owners) {
    if (path.empty() || path.front() != '/') throw PathRefused(path, "not an absolute path");
    std::deque<std::string> todo = components(path);
    UniqueFd current = openRoot();
    std::string where = "/";
    checkDirectory(current.get(), where, owners, !todo.empty());
    int links = 0;
    while (!todo.empty()) {
        std::string name = std::move(todo.front());
        todo.pop_front();
        bool last = todo.empty();
        if (name == "..") {
            where = parentPath(where);
            current.reset(::openat(current.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
            if (!current) fail(errno, "cannot open " + where);
            checkDirectory(current.get(), where, owners, !last);
            continue;
        }
        std::string next = joinPath(where, name);
        UniqueFd fd(::openat(current.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) fail(errno, next);
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0) fail(errno, "cannot stat " + next);
        if (S_ISLNK(st.st_mode)) {
            if (last) throw PathRefused(next, "is a symbolic link");
            if (!owners.contains(st.st_uid))
                throw PathRefused(next, "symbolic link owned by uid " + std::to_string(st.st_uid) + ", must be owned by " +
                                            owners.describe());
            if (++links > kMaxSymlinks) fail(ELOOP, path);
            std::string target = readLink(fd.get(), next);
            std::deque<std::string> more = components(target);
            todo.insert(todo.begin(), more.begin(), more.end());
            if (target.starts_with('/')) {
                current = openRoot();
                where = "/";
                checkDirectory(current.get(), where, owners, !todo.empty());
            }
            continue;
        }
        checkDirectory(fd.get(), next, owners, !last);
        current = std::move(fd);
        where = std::move(next);
    }
    UniqueFd dir(::openat(current.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) fail(errno, "cannot open " + path);
    return dir;
}

Split split(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return {".", path};
    return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

namespace {

/// Checks an opened file against the rules; throws PathRefused.
void checkFile(int fd, const std::string& path, const TrustedOwners& owners, std::size_t maxBytes) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) fail(errno, "cannot stat " + path);
    if (!S_ISREG(st.st_mode)) throw PathRefused(path, "not a regular file");
    if (std::string why = violation(st, owners); !why.empty()) throw PathRefused(path, why);
    // A second name elsewhere (a hard link) means whoever made it may read or change it there.
    if (st.st_nlink != 1) throw PathRefused(path, "has " + std::to_string(st.st_nlink) + " hard links, must have 1");
    if (maxBytes != 0 && static_cast<std::uint64_t>(st.st_size) > maxBytes)
        throw PathRefused(path, "larger than " + std::to_string(maxBytes) + " bytes");
}

}  // namespace

UniqueFd openFile(int dirFd, const std::string& path, int flags, const TrustedOwners& owners, std::size_t maxBytes) {
    std::string name = split(path).name;
    // O_NONBLOCK: a FIFO planted under the name must not block the open (it is refused below).
    UniqueFd fd(::openat(dirFd, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) {
        if (errno == ELOOP) throw PathRefused(path, "is a symbolic link");
        fail(errno, path);
    }
    checkFile(fd.get(), path, owners, maxBytes);
    if (!(flags & O_NONBLOCK)) ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
    return fd;
}

UniqueFd openOrCreate(int dirFd, const std::string& path, int flags, mode_t mode, const TrustedOwners& owners, bool& created) {
    std::string name = split(path).name;
    for (int attempt = 0; attempt < 10; ++attempt) {
        UniqueFd fd(::openat(dirFd, name.c_str(), flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode));
        if (fd) {
            created = true;
            if (::fchmod(fd.get(), mode) != 0) fail(errno, "cannot set the mode of " + path);  // whatever the umask
            return fd;
        }
        if (errno != EEXIST) fail(errno, path);
        try {
            created = false;
            return openFile(dirFd, path, flags, owners);
        } catch (const std::system_error& e) {
            if (e.code() != std::errc::no_such_file_or_directory) throw;  // removed meanwhile: create it
        }
    }
    fail(EAGAIN, path + " keeps appearing and disappearing");
}

std::string readFileAt(int dirFd, const std::string& path, const TrustedOwners& owners, std::size_t maxBytes) {
    UniqueFd fd = openFile(dirFd, path, O_RDONLY | O_NONBLOCK, owners, maxBytes);
    std::string out;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail(errno, "cannot read " + path);
        if (n == 0) return out;
        // It may grow after the size check: the cap holds for what is read, too.
        if (out.size() + static_cast<std::size_t>(n) > maxBytes)
            throw PathRefused(path, "larger than " + std::to_string(maxBytes) + " bytes");
        out.append(buf, static_cast<std::size_t>(n));
    }
}

std::string readFile(const std::string& path, const TrustedOwners& owners, std::size_t maxBytes) {
    UniqueFd dir = openDirectory(split(path).dir, owners);
    return readFileAt(dir.get(), path, owners, maxBytes);
}

std::string refusal(const std::string& path, const TrustedOwners& owners, bool directory) {
    try {
        if (directory) {
            openDirectory(path, owners);
        } else {
            UniqueFd dir = openDirectory(split(path).dir, owners);
            openFile(dir.get(), path, O_PATH, owners);
        }
    } catch (const PathRefused& e) {
        return e.what();
    } catch (const std::system_error&) {
        // Missing, or not to be opened by this user: for the caller to say, if it matters.
    }
    return {};
}

std::string temporaryName(const std::string& name) {
    unsigned char random[8] = {};
    if (::getrandom(random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) fail(errno, "getrandom");
    char hex[17];
    for (std::size_t i = 0; i < sizeof random; ++i) std::snprintf(hex + 2 * i, 3, "%02x", random[i]);
    return "." + name + "." + hex;
}

void replaceFile(int dirFd, const std::string& name, std::string_view content, mode_t mode) {
    std::string tmp = temporaryName(name);
    UniqueFd fd(::openat(dirFd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode));
    if (!fd) fail(errno, "cannot create " + tmp);
    auto undo = [&](const std::string& what) {
        int err = errno;
        ::unlinkat(dirFd, tmp.c_str(), 0);
        fail(err, what);
    };
    std::size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) undo("cannot write " + tmp);
        done += static_cast<std::size_t>(n);
    }
    if (::renameat(dirFd, tmp.c_str(), dirFd, name.c_str()) != 0) undo("cannot rename " + tmp + " to " + name);
}

}  // namespace TrustedPath

}  // namespace hostd
