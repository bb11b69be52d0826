#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace hostd::test {

/// A temporary directory (mode 0755, as hostd wants for its plugin directory), removed on
/// destruction unless keep() was called.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const noexcept { return _path; }
    std::string file(const std::string& name) const { return _path + "/" + name; }
    std::string write(const std::string& name, const std::string& text) const;
        /// Writes the file name (mode 0644) and returns its path.
    void keep() noexcept { _keep = true; }
        /// Leaves the directory behind, for a post-mortem of a failed test.

private:
    std::string _path;
    bool _keep = false;
};

/// What one run of hostd-plugin-check printed and returned.
struct ToolRun {
    int exitCode = -1;  ///< 128 + N if killed by signal N.
    std::string out;
    std::string err;
};

ToolRun runPluginCheck(const std::vector<std::string>& args);
    /// Runs HOSTD_PLUGIN_CHECK with args and waits for it (killing it after a minute).

/// One row of hostd-plugin-check --json.
struct Verdict {
    std::string status;
    std::string reason;
};

std::map<std::string, Verdict> parseChecks(const std::string& json);
    /// The checks of a --json report, by id. Throws if the text is not valid JSON.

std::string fixture(const std::string& name);
    /// The path of a test fixture plugin, HOSTD_FIXTURE_DIR/NAME.so.

}  // namespace hostd::test
