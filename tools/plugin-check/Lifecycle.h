#pragma once

#include "Child.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace hostd::check {

/// What the dynamic checks run the plugin with.
struct LifecycleOptions {
    std::string path;                                         ///< The plugin file.
    std::string name;                                         ///< Instance name: the file stem, as in hostd.
    std::vector<std::pair<std::string, std::string>> config;  ///< Its configuration section.
    std::vector<std::string> needed;                          ///< The plugin's DT_NEEDED libraries.
    std::vector<std::string> searchDirs;                      ///< Where to look for them first.
    std::chrono::milliseconds startTimeout{10000};
    std::chrono::milliseconds reloadTimeout{10000};
    std::chrono::milliseconds stopTimeout{5000};
};

void runLifecycle(const LifecycleOptions& options, ChildChannel& channel);
    /// Runs in a child (see runInChild): loads the plugin from a private memfd copy as hostd
    /// does, checks its ABI version, starts it with the configuration, reloads it with the same
    /// configuration, stops it with a deadline, unloads it; then checks that the image is gone
    /// and that no thread, descriptor or pthread key it created is left. Reports checks load,
    /// abi-version, start, reload, stop, threads, unload, pthread-keys, fds.

}  // namespace hostd::check
