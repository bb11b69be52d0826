#include "TempDir.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <sys/stat.h>

namespace hostd::test {

TempDir::TempDir(const std::string& prefix) {
    // $TMPDIR lets a run be repeated on another filesystem (tmpfs vs disk changes cp timings).
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/" + prefix + ".XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr)
        throw std::runtime_error("mkdtemp " + tmpl + ": " + std::strerror(errno));
    ::chmod(tmpl.c_str(), 0755);
    _path = tmpl;
}

TempDir::~TempDir() {
    if (_keep) return;
    std::error_code ignored;
    std::filesystem::remove_all(_path, ignored);
}

std::string TempDir::write(const std::string& name, const std::string& text) const {
    std::string p = file(name);
    std::ofstream(p, std::ios::trunc) << text;
    ::chmod(p.c_str(), 0644);
    return p;
}

}  // namespace hostd::test
