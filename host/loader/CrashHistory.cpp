#include "CrashHistory.h"

#include "ContentHash.h"

#include "Config.h"
#include "Log.h"
#include "TrustedPath.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <set>
#include <sstream>
#include <system_error>
#include <unistd.h>

namespace hostd {

namespace {

bool isMissing(const std::system_error& e) { return e.code() == std::errc::no_such_file_or_directory; }

std::optional<int> parseCount(std::string_view s) {
    int n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || end != s.data() + s.size() || n < 1 || n > 1000000) return std::nullopt;
    return n;
}

}  // namespace

CrashHistory::CrashHistory(const std::string& stateDir) : _path(stateDir) {
    // Not created here: systemd's StateDirectory= or the package does, with the right owner.
    try {
        _dir = TrustedPath::openDirectory(stateDir, TrustedOwners::current());
    } catch (const std::exception& e) {
        _why = e.what();
        return;
    }
    if (::faccessat(_dir.get(), ".", W_OK | X_OK, AT_EACCESS) != 0) {
        _why = stateDir + ": not writable by uid " + std::to_string(::geteuid());
        _dir.reset();
        return;
    }
    _usable = true;
    readCounts();
}

void CrashHistory::readCounts() {
    std::string path = _path + "/" + kCountsFile;
    std::string text;
    try {
        text = TrustedPath::readFileAt(_dir.get(), path, TrustedOwners::current(), kMaxCountsBytes);
    } catch (const std::system_error& e) {
        if (!isMissing(e)) HOSTD_LOG(Warning, "", "crash counts not read; counting from zero", {"error", e.what()});
        return;
    } catch (const PathRefused& e) {
        HOSTD_LOG(Warning, "", "crash counts refused; counting from zero", {"error", e.what()});
        return;
    }
    std::istringstream in(text);
    std::string line;
    int lineNo = 0;
    while (std::getline(in, line)) {
        ++lineNo;
        std::istringstream fields(line);
        std::string name, count, sha, extra;
        fields >> name >> count >> sha;
        auto n = parseCount(count);
        if (!isValidPluginName(name) || !n || !ContentHash::isHex(sha) || (fields >> extra)) {
            HOSTD_LOG(Warning, "", "crash counts: line ignored (expected 'NAME COUNT CONTENT')",
                      {"file", path + ":" + std::to_string(lineNo)});
            continue;
        }
        _counts[name] = {*n, sha};
    }
}

std::optional<CrashBreadcrumb> CrashHistory::parseBreadcrumb(const std::string& text, std::string& content) {
    static const std::set<std::string, std::less<>> kSignals{"SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT", "signal", "terminate", "exit", "broke-host"};
    static const std::set<std::string, std::less<>> kCallbacks{"start", "stop", "reload", "load", "unload", "own-thread"};
    std::istringstream in(text);
    std::string label, signal, callback, extra;
    in >> label >> signal >> callback;
    if (!kSignals.contains(signal) || !kCallbacks.contains(callback) || (in >> extra)) return std::nullopt;
    // The label is "NAME@CONTENT" (PluginImage's crash label), "-" when unattributed.
    CrashBreadcrumb crumb{"", signal, callback};
    content.clear();
    if (label == "-") return crumb;
    auto at = label.find('@');
    if (at == std::string::npos || !isValidPluginName(label.substr(0, at)) || !ContentHash::isHex(label.substr(at + 1)))
        return std::nullopt;
    crumb.plugin = label.substr(0, at);
    content = label.substr(at + 1);
    return crumb;
}

std::optional<CrashBreadcrumb> CrashHistory::takeBreadcrumb() {
    if (!_usable) return std::nullopt;
    std::string path = _path + "/" + CrashGuard::kBreadcrumbFile;
    std::string text;
    try {
        text = TrustedPath::readFileAt(_dir.get(), path, TrustedOwners::current(), 4096);
    } catch (const std::system_error& e) {
        if (!isMissing(e)) HOSTD_LOG(Warning, "", "crash breadcrumb not read", {"error", e.what()});
        return std::nullopt;
    } catch (const PathRefused& e) {
        HOSTD_LOG(Warning, "", "crash breadcrumb refused; left in place", {"error", e.what()});
        return std::nullopt;
    }
    std::string sha;
    auto crumb = parseBreadcrumb(text, sha);
    if (!crumb) {
        HOSTD_LOG(Warning, "", "crash breadcrumb ignored: not one hostd writes; left in place", {"file", path});
        return std::nullopt;
    }
    ::unlinkat(_dir.get(), CrashGuard::kBreadcrumbFile, 0);
    if (!crumb->plugin.empty()) countRun(crumb->plugin, sha);
    return crumb;
}

void CrashHistory::countRun(const std::string& plugin, const std::string& content) {
    Entry& e = _counts[plugin];
    if (e.content != content) e = {0, content};
    ++e.count;
    save();
}

int CrashHistory::crashes(const std::string& plugin, const std::string& content) const {
    auto it = _counts.find(plugin);
    return it != _counts.end() && it->second.content == content ? it->second.count : 0;
}

void CrashHistory::forget(const std::string& plugin) {
    if (_counts.erase(plugin) != 0) save();
}

void CrashHistory::save() const {
    if (!_usable) return;
    std::string text;
    for (const auto& [name, e] : _counts) text += name + " " + std::to_string(e.count) + " " + e.content + "\n";
    try {
        TrustedPath::replaceFile(_dir.get(), kCountsFile, text, 0640);
    } catch (const std::system_error& e) {
        HOSTD_LOG(Error, "", "crash counts not saved", {"state_dir", _path}, {"error", e.what()});
    }
}

}  // namespace hostd
