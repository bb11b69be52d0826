// Reading the configuration files: the main file and its drop-ins, under the trust rules
// (TrustedPath.h). The configuration decides what hostd does as root (which files it writes,
// which user it becomes), so a file or directory anyone else could have changed is refused.
#include "Config.h"

#include "TrustedPath.h"

#include <algorithm>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <system_error>

namespace hostd {

namespace {

constexpr std::size_t kMaxConfigBytes = 1 << 20;

bool isMissing(const std::system_error& e) { return e.code() == std::errc::no_such_file_or_directory; }

ConfigIssue refused(const std::string& file, const PathRefused& e) { return {{file, 0}, "refused: " + e.about(file), false}; }

ConfigIssue unreadable(const std::string& file, const std::system_error& e) {
    return {{file, 0}, "cannot read configuration file: " + e.code().message(), false};
}

/// The names of the drop-ins in dir (*.conf, not hidden), sorted.
std::vector<std::string> dropinNames(int dirFd) {
    std::vector<std::string> names;
    DIR* d = ::fdopendir(::fcntl(dirFd, F_DUPFD_CLOEXEC, 0));  // closedir closes the duplicate
    if (d == nullptr) return names;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name.size() > 5 && name.ends_with(".conf") && name.front() != '.') names.push_back(name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

/// Reads the drop-ins of dropins (a directory), appending them to sources or the reasons to issues.
void readDropins(const std::string& dropins, const TrustedOwners& owners, std::vector<ConfigText>& sources,
                 std::vector<ConfigIssue>& issues) {
    UniqueFd dir;
    try {
        dir = TrustedPath::openDirectory(dropins, owners);
    } catch (const PathRefused& e) {
        issues.push_back(refused(dropins, e));
        return;
    } catch (const std::system_error& e) {
        if (!isMissing(e) && e.code() != std::errc::not_a_directory)
            issues.push_back({{dropins, 0}, std::string("cannot read the drop-in directory: ") + e.what(), false});
        return;
    }
    for (const auto& name : dropinNames(dir.get())) {
        std::string path = dropins + "/" + name;
        try {
            sources.push_back({path, TrustedPath::readFileAt(dir.get(), path, owners, kMaxConfigBytes)});
        } catch (const PathRefused& e) {
            issues.push_back(refused(path, e));
        } catch (const std::system_error& e) {
            if (!isMissing(e)) issues.push_back(unreadable(path, e));  // removed since it was listed: not there
        }
    }
}

}  // namespace

ConfigLoad loadConfig(const std::string& mainFileAsGiven, bool mainFileRequired) {
    // Relative names are the operator's: messages keep them; the trust walk needs the full path.
    std::string mainFile = mainFileAsGiven;
    std::string absolute = std::filesystem::absolute(mainFileAsGiven).lexically_normal().string();
    TrustedOwners owners = TrustedOwners::current();
    std::vector<ConfigText> sources;
    std::vector<ConfigIssue> readErrors;
    try {
        sources.push_back({mainFile, TrustedPath::readFile(absolute, owners, kMaxConfigBytes)});
    } catch (const PathRefused& e) {
        readErrors.push_back(refused(absolute, e));
        readErrors.back().origin.file = mainFile;
    } catch (const std::system_error& e) {
        if (!isMissing(e))
            readErrors.push_back(unreadable(mainFile, e));
        else if (mainFileRequired)
            readErrors.push_back({{mainFile, 0}, "configuration file not found", false});
    }
    std::size_t before = readErrors.size();
    readDropins(absolute + ".d", owners, sources, readErrors);
    for (std::size_t i = before; i < readErrors.size(); ++i)  // named as the operator named the main file
        if (readErrors[i].origin.file.starts_with(absolute + ".d"))
            readErrors[i].origin.file.replace(0, absolute.size(), mainFile);
    for (std::size_t i = 0; i < sources.size(); ++i)
        if (sources[i].file.starts_with(absolute + ".d")) sources[i].file.replace(0, absolute.size(), mainFile);
    ConfigLoad result = parseConfig(sources);
    if (!readErrors.empty()) {
        result.issues.insert(result.issues.begin(), readErrors.begin(), readErrors.end());
        result.config.reset();
    }
    return result;
}

}  // namespace hostd
