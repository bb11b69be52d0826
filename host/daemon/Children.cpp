#include "Children.h"

#include "Log.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace hostd {

namespace {

/// The pids whose parent is this process (the kernel's own list per thread, /proc/PID/task/TID/children).
std::vector<pid_t> children() {
    std::vector<pid_t> out;
    DIR* tasks = ::opendir("/proc/self/task");
    if (tasks == nullptr) return out;
    while (dirent* e = ::readdir(tasks)) {
        if (e->d_name[0] == '.') continue;
        std::ifstream in(std::string("/proc/self/task/") + e->d_name + "/children");
        pid_t pid = 0;
        while (in >> pid) out.push_back(pid);
    }
    ::closedir(tasks);
    return out;
}

std::mutex gForkedMutex;
std::map<pid_t, std::string> gForkedBy;  // plugin name by pid; what lives at exit is looked up

std::string forkerOf(pid_t pid) {
    std::lock_guard lock(gForkedMutex);
    auto it = gForkedBy.find(pid);
    return it == gForkedBy.end() ? std::string() : it->second;
}

std::string commandOf(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
    std::string comm;
    std::getline(in, comm);
    return comm;
}

}  // namespace

void becomeSubreaper() {
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        HOSTD_LOG(Warning, "", "cannot become the subreaper of plugins' processes", {"error", std::strerror(errno)});
}

void forkedBy(pid_t pid, const std::string& plugin) {
    std::lock_guard lock(gForkedMutex);
    if (gForkedBy.size() >= 4096) {  // a plugin forking for ever: forget the ones already reaped
        std::erase_if(gForkedBy, [](const auto& entry) { return ::kill(entry.first, 0) != 0 && errno == ESRCH; });
        if (gForkedBy.size() >= 4096) return;
    }
    gForkedBy[pid] = plugin.substr(0, plugin.find('@'));
}

int endLeftoverChildren(std::chrono::milliseconds grace) {
    std::vector<pid_t> left = children();
    for (pid_t pid : left) {
        std::string plugin = forkerOf(pid);
        HOSTD_LOG(Warning, plugin,
                  plugin.empty() ? "a process plugins left behind still runs; ending it (plugin.h: reap what you fork)"
                                 : "a process the plugin forked and left behind still runs; ending it (plugin.h: reap "
                                   "what you fork)",
                  {"pid", std::to_string(pid)}, {"command", commandOf(pid)});
        ::kill(pid, SIGTERM);
    }
    auto deadline = std::chrono::steady_clock::now() + grace;
    std::vector<pid_t> running = left;
    while (!running.empty()) {
        std::erase_if(running, [](pid_t pid) { return ::waitpid(pid, nullptr, WNOHANG) == pid || errno == ECHILD; });
        if (running.empty() || std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (pid_t pid : running) {
        ::kill(pid, SIGKILL);  // its signals may be blocked: it was forked from a thread of hostd's
        ::waitpid(pid, nullptr, 0);
    }
    return static_cast<int>(left.size());
}

}  // namespace hostd
