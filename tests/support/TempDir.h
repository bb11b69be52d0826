#pragma once

#include <string>

namespace hostd::test {

/// A mkdtemp directory under $TMPDIR (default /tmp), mode 0755 so that a process run as
/// another user may read what a test puts there; removed with everything in it on
/// destruction unless kept.
class TempDir {
public:
    explicit TempDir(const std::string& prefix = "hostd-test");
        /// Throws std::runtime_error if the directory cannot be made.
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const noexcept { return _path; }
    std::string file(const std::string& name) const { return _path + "/" + name; }
    std::string write(const std::string& name, const std::string& text) const;
        /// Writes the file name (mode 0644) and returns its path.
    void keep() noexcept { _keep = true; }
        /// Leaves the directory behind, for a post-mortem of a failed run.

private:
    std::string _path;
    bool _keep = false;
};

}  // namespace hostd::test
