#include "HostFds.h"

#include <atomic>
#include <map>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>

namespace hostd::HostFds {

namespace {

struct Identity {
    dev_t dev;
    ino_t ino;
    const char* what;
};

// Never destroyed: close() asks during the process's exit too.
std::mutex& gMutex = *new std::mutex;
std::map<int, Identity>& gWatched = *new std::map<int, Identity>;
std::atomic<pid_t> gOwner{0};  // the process that watches: a forked child closing its copies is not hostd

}  // namespace

void watch(int fd, const char* what) {
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) return;
    std::lock_guard lock(gMutex);
    gWatched[fd] = {st.st_dev, st.st_ino, what};
    gOwner.store(::getpid());
}

const char* watched(int fd) noexcept {
    if (fd < 0 || gOwner.load() != ::getpid()) return nullptr;
    std::lock_guard lock(gMutex);
    auto it = gWatched.find(fd);
    return it == gWatched.end() ? nullptr : it->second.what;
}

void forget(int fd) {
    std::lock_guard lock(gMutex);
    gWatched.erase(fd);
}

std::optional<Broken> check() {
    std::lock_guard lock(gMutex);
    for (const auto& [fd, id] : gWatched) {
        struct stat st {};
        if (::fstat(fd, &st) != 0 || st.st_dev != id.dev || st.st_ino != id.ino) return Broken{fd, id.what};
    }
    return std::nullopt;
}

Watched& Watched::operator=(Watched&& other) noexcept {
    if (this != &other) {
        if (_fd >= 0) forget(_fd);
        _fd = other._fd;
        other._fd = -1;
    }
    return *this;
}

}  // namespace hostd::HostFds
