#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

namespace hostd {

/// What /proc/self says about this process, read on demand (by the metrics and debug
/// endpoints; never on a timer).
struct ProcessStats {
    std::uint64_t residentBytes = 0;
    std::uint64_t virtualBytes = 0;
    std::uint64_t openFds = 0;
    std::uint64_t maxFds = 0;
    double cpuSeconds = 0;
    double startTimeSeconds = 0;  ///< Unix time the process started.

    static ProcessStats read();
};

/// Resident memory and CPU time of another process (an isolated plugin's runner).
struct ChildStats {
    std::uint64_t residentBytes = 0;
    double cpuSeconds = 0;  ///< user + system.
    bool alive = false;

    static ChildStats read(pid_t pid);
};

/// One thread of this process (/proc/self/task).
struct ThreadInfo {
    pid_t tid = 0;
    std::string name;       ///< comm: at most 15 bytes.
    char state = '?';       ///< R, S, D, T, Z, ...
    double cpuSeconds = 0;  ///< user + system.
    unsigned long long startTicks = 0;
};

std::vector<ThreadInfo> readThreads();

/// The mappings of one loaded plugin image (its private memfd copy "hostd:NAME.so").
struct ImageMapping {
    std::string path;            ///< As /proc/self/maps shows it: "/memfd:hostd:NAME.so (deleted)".
    unsigned long long inode = 0;
    std::uint64_t bytes = 0;
    int mappings = 0;
};

std::map<std::string, std::vector<ImageMapping>> readPluginImageMappings();
    /// Plugin name -> its images (two during an upgrade), from /proc/self/maps.

}  // namespace hostd
