#include "PluginDirectory.h"

#include "Config.h"
#include "TrustedPath.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <system_error>
#include <unistd.h>

namespace hostd {

PluginDirectory::Opened PluginDirectory::open(std::string& error) {
    try {
        _fd = TrustedPath::openDirectory(_path, TrustedOwners::current());
        return Opened::Yes;
    } catch (const PathRefused& e) {
        error = e.about(_path);
        return Opened::Refused;
    } catch (const std::system_error& e) {
        error = e.what();
        return Opened::Missing;
    }
}

std::optional<std::string> PluginDirectory::pluginName(const std::string& fileName, bool* invalidName) {
    if (invalidName != nullptr) *invalidName = false;
    if (fileName.size() <= 3 || !fileName.ends_with(".so") || fileName.front() == '.') return std::nullopt;
    std::string stem = fileName.substr(0, fileName.size() - 3);
    if (!isValidPluginName(stem)) {
        if (invalidName != nullptr) *invalidName = true;
        return std::nullopt;
    }
    return stem;
}

std::vector<std::string> PluginDirectory::scan(std::vector<std::string>& ignored) const {
    std::vector<std::string> names;
    // readdir on a duplicate: closedir closes its fd, and _fd stays for openat.
    DIR* d = ::fdopendir(::dup(_fd.get()));
    if (d == nullptr) return names;
    ::rewinddir(d);
    while (dirent* e = ::readdir(d)) {
        bool invalid = false;
        if (auto name = pluginName(e->d_name, &invalid))
            names.push_back(*name);
        else if (invalid)
            ignored.push_back(_path + "/" + e->d_name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace hostd
