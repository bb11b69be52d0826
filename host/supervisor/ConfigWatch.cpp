#include "ConfigWatch.h"

#include "Log.h"

#include <Poco/JSON/Array.h>

#include <ctime>
#include <set>
#include <system_error>

namespace hostd {

void ConfigWatch::watch() {
    auto slash = _mainFile.rfind('/');
    std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : _mainFile.substr(0, slash);
    try {
        // Neither directory is held open, so their removal is seen without watching the parent.
        _dirWatcher = std::make_unique<DirectoryWatcher>(dir, DirectoryWatcher::ParentWatch::WhileMissing);
        _dropinWatcher = std::make_unique<DirectoryWatcher>(_mainFile + ".d", DirectoryWatcher::ParentWatch::WhileMissing);
    } catch (const std::system_error& e) {
        HOSTD_LOG(Warning, "", "cannot watch the configuration; reload with SIGHUP", {"error", e.what()});
        _dirWatcher.reset();
        _dropinWatcher.reset();
        return;
    }
    _loop.add(_dirWatcher->fd(), [this] { onEvents(*_dirWatcher, false); });
    _loop.add(_dropinWatcher->fd(), [this] { onEvents(*_dropinWatcher, true); });
}

void ConfigWatch::onEvents(DirectoryWatcher& watcher, bool dropins) {
    const std::string mainName = _mainFile.substr(_mainFile.rfind('/') + 1);
    bool relevant = false;
    for (const auto& c : watcher.read()) {
        if (c.kind == DirectoryWatcher::Change::FileChanged) continue;  // chmod/touch: content is the same
        if (c.kind == DirectoryWatcher::Change::Rescan || c.kind == DirectoryWatcher::Change::DirGone)
            relevant |= dropins;
        else if (dropins)
            relevant |= c.name.size() > 5 && c.name.ends_with(".conf") && c.name.front() != '.';
        else
            relevant |= c.name == mainName;
    }
    if (!relevant || _paused) return;
    auto now = Clock::now();
    if (_firstChange == Clock::time_point::max()) _firstChange = now;
    _due = std::min(now + std::chrono::milliseconds(100), _firstChange + std::chrono::seconds(1));
}

std::optional<Clock::time_point> ConfigWatch::nextDeadline() const {
    if (_due == Clock::time_point::max()) return std::nullopt;
    return _due;
}

bool ConfigWatch::due(Clock::time_point now) {
    if (now < _due) return false;
    _due = _firstChange = Clock::time_point::max();
    return !_paused;
}

void applyLogLevels(const ConfigSnapshot& config) {
    if (auto level = parseLevel(config.host.logLevel)) Log::setLevel(*level);
    std::map<std::string, Level, std::less<>> levels;
    for (const auto& [name, section] : config.plugins)
        if (auto level = parseLevel(section.logLevel)) levels.emplace(name, *level);
    Log::setPluginLevels(std::move(levels));
    std::map<std::string, int, std::less<>> rates;
    for (const auto& [name, section] : config.plugins)
        if (section.logRateLimit) rates.emplace(name, *section.logRateLimit);
    Log::setPluginRateLimits(config.host.logRateLimit, std::move(rates));
}

void warnAboutRestartOnlyKeys(const ConfigSnapshot& old, const ConfigSnapshot& now, const std::string& mainFile) {
    static const std::set<std::string, std::less<>> kRestartOnly{
        "pidfile",   "user",           "group",          "capabilities",  "rlimit_nofile",       "rlimit_core",
        "rlimit_fsize", "state_dir", "control_socket", "metrics_listen", "metrics_allow_remote"};
    auto before = describe(old.host), after = describe(now.host);
    for (std::size_t i = 0; i < after.size() && i < before.size(); ++i) {
        const auto& [key, value] = after[i];
        if (!kRestartOnly.contains(key) || value == before[i].second) continue;
        auto o = now.hostOrigins.find(key);
        HOSTD_LOG(Warning, "", "configuration key changed; it takes effect when hostd restarts", {"key", key},
                  {"value", now.display(key, value)}, {"running_with", old.display(key, before[i].second)},
                  {"config", o == now.hostOrigins.end() ? mainFile : o->second.str()});
    }
}

Poco::JSON::Object::Ptr reloadRecord(std::string_view why, const ConfigLoad& load, unsigned generation) {
    std::time_t secs = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char at[32];
    std::strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    Poco::JSON::Object::Ptr r = new Poco::JSON::Object;
    r->set("ok", load.ok());
    r->set("at", std::string(at));
    r->set("reason", std::string(why));
    r->set("generation", load.ok() ? generation + 1 : generation);
    Poco::JSON::Array::Ptr errors = new Poco::JSON::Array;
    for (const auto& issue : load.issues)
        if (!issue.warning) errors->add(issue.str());
    r->set("errors", errors);
    return r;
}

}  // namespace hostd
