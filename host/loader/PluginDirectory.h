#pragma once

#include "UniqueFd.h"

#include <optional>
#include <string>
#include <vector>

namespace hostd {

/// The plugin directory: which files in it are plugins. A file NAME.so directly in the
/// directory is plugin NAME when NAME is [A-Za-z0-9_-]+; hidden and temporary files are not
/// plugins (rsync's .NAME.so.XXXXXX, dpkg's NAME.so.dpkg-new).
class PluginDirectory {
public:
    explicit PluginDirectory(std::string path) : _path(std::move(path)) {}

    const std::string& path() const noexcept { return _path; }
    std::string filePath(const std::string& name) const { return _path + "/" + name + ".so"; }

    enum class Opened { Yes, Missing, Refused };

    Opened open(std::string& error);
        /// Opens the directory after checking it and every directory above it against the trust
        /// rules (TrustedPath.h): whoever can write to it, or swap it for a link to another
        /// directory, could replace a plugin. On failure, error says why: Missing (a component
        /// does not exist, or cannot be opened), Refused (a rule is broken).

    int fd() const noexcept { return _fd.get(); }

    std::vector<std::string> scan(std::vector<std::string>& ignored) const;
        /// Plugin names present now, sorted. Files that look like plugins but have invalid
        /// names are added to `ignored` (their paths).

    static std::optional<std::string> pluginName(const std::string& fileName, bool* invalidName = nullptr);
        /// "NAME" for "NAME.so" with a valid name; nothing for anything else. Sets *invalidName
        /// when the file ends in .so, is not hidden, but the name is not valid.

private:
    std::string _path;
    UniqueFd _fd;
};

}  // namespace hostd
