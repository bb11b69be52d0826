#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>

namespace hostd::check {

/// What this process holds that a plugin could leave behind: threads, file descriptors, pthread
/// keys. Taken before the plugin is loaded and compared after it is stopped and unloaded.
struct ProcessState {
    std::set<int> threads;              ///< Thread ids, from /proc/self/task.
    std::map<int, std::string> fds;     ///< Open descriptors and what they point to, from /proc/self/fd.
    int nextPthreadKey = -1;            ///< The key pthread_key_create hands out next (see nextPthreadKey()).

    static ProcessState capture();
};

std::string threadName(int tid);
    /// The thread's name (/proc/self/task/TID/comm), e.g. "heartbeat".

std::set<int> currentThreads();

std::map<int, std::string> currentFds();
    /// Excludes the descriptor used to read the directory itself.

int nextPthreadKey();
    /// Creates and deletes a key, returning its number. glibc hands out the lowest free key, so
    /// a different number later means a key created in between is still allocated.

bool mapsContain(std::string_view needle);
    /// True if a line of /proc/self/maps contains needle (e.g. a memfd's name).

}  // namespace hostd::check
