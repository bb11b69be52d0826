#include "CrashHistory.h"

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace hostd {

CrashHistory::CrashHistory(std::string stateDir) : _dir(std::move(stateDir)) {
    // Not created here: systemd's StateDirectory= or the package does, with the right owner.
    _usable = ::access(_dir.c_str(), W_OK | X_OK) == 0;
    std::ifstream in(_dir + "/crash-counts");
    std::string name, sha;
    int count = 0;
    while (in >> name >> count >> sha) _counts[name] = {count, sha};
}

std::optional<CrashBreadcrumb> CrashHistory::takeBreadcrumb() {
    std::ifstream in(breadcrumbPath());
    if (!in) return std::nullopt;
    std::string label, signal, callback;
    in >> label >> signal >> callback;
    in.close();
    ::unlink(breadcrumbPath().c_str());
    // The label is "NAME@SHA256" (see Supervisor::crashLabel), "-" when unattributed.
    CrashBreadcrumb crumb{"", signal.empty() ? "unknown" : signal, callback};
    std::string sha;
    if (auto at = label.find('@'); at != std::string::npos) {
        crumb.plugin = label.substr(0, at);
        sha = label.substr(at + 1);
    }
    if (!crumb.plugin.empty()) countRun(crumb.plugin, sha);
    return crumb;
}

void CrashHistory::countRun(const std::string& plugin, const std::string& sha256) {
    Entry& e = _counts[plugin];
    if (e.sha256 != sha256) e = {0, sha256};
    ++e.count;
    save();
}

int CrashHistory::crashes(const std::string& plugin, const std::string& sha256) const {
    auto it = _counts.find(plugin);
    return it != _counts.end() && it->second.sha256 == sha256 ? it->second.count : 0;
}

void CrashHistory::forget(const std::string& plugin) {
    if (_counts.erase(plugin) != 0) save();
}

void CrashHistory::save() const {
    if (!_usable) return;
    std::string tmp = _dir + "/.crash-counts.tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        for (const auto& [name, e] : _counts) out << name << " " << e.count << " " << e.sha256 << "\n";
    }
    std::rename(tmp.c_str(), (_dir + "/crash-counts").c_str());
}

}  // namespace hostd
