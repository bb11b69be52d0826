#include "ProcessState.h"

#include <dirent.h>
#include <fstream>
#include <limits.h>
#include <memory>
#include <pthread.h>
#include <unistd.h>

namespace hostd::check {

namespace {

/// Calls f(name) for each numeric entry of a /proc directory; returns the dir's own fd.
template <class F>
int forEachNumericEntry(const char* path, F&& f) {
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path), ::closedir);
    if (!dir) return -1;
    int own = ::dirfd(dir.get());
    while (dirent* e = ::readdir(dir.get()))
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9') f(std::stoi(e->d_name));
    return own;
}

}  // namespace

std::set<int> currentThreads() {
    std::set<int> out;
    forEachNumericEntry("/proc/self/task", [&](int tid) { out.insert(tid); });
    return out;
}

std::map<int, std::string> currentFds() {
    std::map<int, std::string> out;
    int own = forEachNumericEntry("/proc/self/fd", [&](int fd) {
        char target[PATH_MAX];
        std::string link = "/proc/self/fd/" + std::to_string(fd);
        ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
        out[fd] = n > 0 ? std::string(target, static_cast<std::size_t>(n)) : "?";
    });
    out.erase(own);
    return out;
}

std::string threadName(int tid) {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/comm");
    std::string name;
    std::getline(in, name);
    return name.empty() ? "?" : name;
}

int nextPthreadKey() {
    pthread_key_t key;
    if (::pthread_key_create(&key, nullptr) != 0) return -1;
    ::pthread_key_delete(key);
    return static_cast<int>(key);
}

bool mapsContain(std::string_view needle) {
    std::ifstream in("/proc/self/maps");
    for (std::string line; std::getline(in, line);)
        if (line.find(needle) != std::string::npos) return true;
    return false;
}

ProcessState ProcessState::capture() {
    ProcessState s;
    s.threads = currentThreads();
    s.fds = currentFds();
    s.nextPthreadKey = check::nextPthreadKey();
    return s;
}

}  // namespace hostd::check
