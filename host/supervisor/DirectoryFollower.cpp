// The plugin directory, followed: see DirectoryFollower.h.
#include "DirectoryFollower.h"

#include "Log.h"
#include "PluginPrefetch.h"
#include "StatusBoard.h"
#include "SupervisorInternal.h"

#include <fcntl.h>
#include <set>
#include <system_error>
#include <sys/stat.h>

namespace hostd {

using detail::joined;
using detail::millis;

TrustPolicy DirectoryFollower::trustPolicy(const std::string& name) const {
    TrustPolicy policy;
    policy.allowSymlinks = config().host.allowSymlinks;
    if (const PluginSection* s = config().plugin(name)) policy.pinnedSha256 = s->sha256;
    return policy;
}

DirectoryFollower::DirectoryFollower(EventLoop& loop, Scheduler& scheduler, SchedulerContext context,
                                     std::function<std::string()> pluginDir)
    : _loop(loop), _scheduler(scheduler), _ctx(std::move(context)), _pluginDir(std::move(pluginDir)) {}

void DirectoryFollower::watch() {
    if (_watcher) _loop.remove(_watcher->fd());
    _watcher = std::make_unique<DirectoryWatcher>(_pluginDir());
    _loop.add(_watcher->fd(), [this] { onDirectoryEvents(); });
    // Watch first, then list: a file landing in between is seen twice, never missed.
    rescan();
}

void DirectoryFollower::onDirectoryEvents() {
    // One batch at a time: a burst of events for one file (cp writing, then chmod) collapses
    // into one look at its final state.
    std::vector<std::string> ready, gone;
    bool rescanNeeded = false;
    for (const auto& c : _watcher->read()) {
        StatusBoard::instance().dirEvent(directoryChangeName(c.kind));
        switch (c.kind) {
        case DirectoryWatcher::Change::FileChanged:
            if (Plugin* p = runsFromATakenFile(c.name)) {
                recheckTrust(*p, c.name);
                break;
            }
            [[fallthrough]];
        case DirectoryWatcher::Change::FileReady:
            std::erase(gone, c.name);
            if (std::find(ready.begin(), ready.end(), c.name) == ready.end()) ready.push_back(c.name);
            break;
        case DirectoryWatcher::Change::FileGone:
            std::erase(ready, c.name);
            gone.push_back(c.name);
            break;
        case DirectoryWatcher::Change::DirGone:
            HOSTD_LOG(Warning, "", "plugin directory removed; stopping its plugins and waiting for it to return",
                      {"path", _pluginDir()});
            _dir.reset();
            {
                std::vector<std::string> names;
                for (const auto& [name, _] : _scheduler.plugins()) names.push_back(name + ".so");
                for (const auto& n : names) fileGone(n);
            }
            ready.clear();
            gone.clear();
            break;
        case DirectoryWatcher::Change::Rescan:
            rescanNeeded = true;
            break;
        }
    }
    if (rescanNeeded) {
        rescan();
        return;
    }
    for (const auto& n : gone) fileGone(n);
    filesReady(ready);
    _scheduler.schedule();
}

Plugin* DirectoryFollower::runsFromATakenFile(const std::string& fileName) {
    // chmod, chown, touch: the content is what it was, and a running plugin runs from its private
    // copy. A file refused last time may have been fixed by it, and one that changed while it was
    // read has no other event to come if this was its last change; any other is not read again, so
    // that a configuration tool resetting modes costs nothing, and a writer that sets the mode
    // before its bytes (std::filesystem::copy_file) is not read half written.
    auto name = PluginDirectory::pluginName(fileName);
    Plugin* p = name ? _scheduler.find(*name) : nullptr;
    return p != nullptr && p->image && !p->fileNotTaken ? p : nullptr;
}

void DirectoryFollower::recheckTrust(Plugin& p, const std::string& fileName) {
    // The running version is unaffected (it runs from its private copy), but an operator who made
    // its file group-writable hears of it now, not at the next upgrade, which would be refused.
    if (!_dir) return;
    std::string why = untrustedFileReason(_dir->fd(), fileName, trustPolicy(p.name));
    if (why == p.untrusted) return;
    if (why.empty()) {
        trustRestored(p);
        return;
    }
    HOSTD_LOG(Warning, p.name, "file fails the trust checks; the running version stays, a new version would be refused",
              {"file", p.path}, {"error", why});
    p.untrusted = std::move(why);
}

void DirectoryFollower::fileTaken(Plugin& p) {
    p.fileNotTaken = false;
    trustRestored(p);
}

void DirectoryFollower::trustRestored(Plugin& p) {
    // Also when the fix is a reinstall that reads the file: the warning is not the last word.
    if (p.untrusted.empty()) return;
    HOSTD_LOG(Notice, p.name, "file passes the trust checks again", {"file", p.path});
    p.untrusted.clear();
}

void DirectoryFollower::rescan() {
    // Reconciles with what is in the directory now: after an inotify overflow, at start, and when
    // the directory (re)appears. Unchanged files are no-ops (same content).
    _dir.emplace(_pluginDir());
    std::string error;
    switch (_dir->open(error)) {
    case PluginDirectory::Opened::Yes: break;
    case PluginDirectory::Opened::Missing:
        HOSTD_LOG(Warning, "", "plugin directory cannot be opened; waiting for it to appear", {"path", _pluginDir()},
                  {"error", error});
        _dir.reset();
        break;
    case PluginDirectory::Opened::Refused:
        HOSTD_LOG(Error, "", "plugin directory refused; no plugin is loaded from it", {"path", _pluginDir()}, {"reason", error});
        _dir.reset();
        break;
    }
    std::vector<std::string> present, ignored;
    if (_dir) present = _dir->scan(ignored);
    for (const auto& path : ignored) HOSTD_LOG(Warning, "", "ignoring file: plugin names are [A-Za-z0-9_-]+", {"path", path});
    std::set<std::string> here(present.begin(), present.end());
    std::vector<std::string> vanished;
    for (const auto& [name, p] : _scheduler.plugins())
        if (!here.count(name) && p->state != PluginState::Disabled) vanished.push_back(name);
    for (const auto& name : vanished) fileGone(name + ".so");
    std::vector<std::string> files;
    for (const auto& name : present) files.push_back(name + ".so");
    filesReady(files);
    for (const auto& [name, section] : config().plugins)
        if (!here.count(name) && section.enabled)
            HOSTD_LOG(Warning, name, "configured plugin has no file", {"path", _pluginDir() + "/" + name + ".so"},
                      {"config", section.origin.str()});
    _scheduler.schedule();
}

Plugin& DirectoryFollower::record(const std::string& name) { return _scheduler.record(name, _pluginDir() + "/" + name + ".so"); }

void DirectoryFollower::filesReady(const std::vector<std::string>& fileNames) {
    std::unique_ptr<PluginPrefetch> prefetch;
    if (_dir && fileNames.size() >= PluginPrefetch::kMinFiles) {
        std::vector<PluginPrefetch::Request> requests;
        for (const auto& f : fileNames)
            if (auto name = PluginDirectory::pluginName(f)) requests.push_back({f, trustPolicy(*name)});
        try {
            prefetch = std::make_unique<PluginPrefetch>(_dir->fd(), std::move(requests));
        } catch (const std::system_error& e) {
            HOSTD_LOG(Debug, "", "no thread to read plugin files ahead; reading each in its turn", {"error", e.what()});
        }
    }
    _prefetch = prefetch.get();
    for (const auto& f : fileNames) fileReady(f);
    _prefetch = nullptr;
}

// fileReady and fileGone change state only; their callers _scheduler.schedule() once per batch, so that
// "ready" is not reported halfway through the initial scan.
void DirectoryFollower::fileReady(const std::string& fileName) {
    auto name = PluginDirectory::pluginName(fileName);
    if (!name || !_dir || _ctx.phase == HostPhase::Draining) return;
    Plugin* existing = _scheduler.find(*name);
    const PluginSection* section = config().plugin(*name);
    if (section != nullptr && !section->enabled) {
        Plugin& p = record(*name);
        if (p.state == PluginState::Invalid) {
            _scheduler.apply(p, LifecycleEvent::DisabledByConfig, "enabled = false");
            HOSTD_LOG(Info, p.name, "disabled by configuration; not loaded", {"file", p.path}, {"config", section->origin.str()});
        }
        return;
    }
    if (existing && existing->stale) {
        if (existing->rejected != "stale")
            HOSTD_LOG(Error, *name, "restart hostd to upgrade " + *name,
                      {"reason", "a previous image of this plugin is still mapped"}, {"file", existing->path});
        existing->rejected = "stale";
        return;
    }
    std::unique_ptr<PluginCode> image;
    std::string path = _pluginDir() + "/" + fileName;
    try {
        std::optional<PluginFile> ahead = _prefetch != nullptr ? _prefetch->take(fileName) : std::nullopt;
        PluginFile file = ahead ? std::move(*ahead) : PluginFile::read(_dir->fd(), fileName, trustPolicy(*name));
        // The same content is nothing to do, unless it runs elsewhere than its isolation now says.
        bool sameRunning = existing && existing->image && existing->image->content() == file.content &&
                           existing->image->isolated() == config().isolated(*name);
        if (existing && ((sameRunning && !existing->candidate) ||
                         (existing->candidate && existing->candidate->content() == file.content) ||
                         existing->rejected == file.content)) {
            fileTaken(*existing);
            if (existing->afterStop == AfterStop::Remove) {
                // Put back while its removal stops it: the install must not be lost with the record.
                existing->afterStop = AfterStop::Restart;
                existing->restartReason = "file";
                HOSTD_LOG(Info, *name, "file back with the same content while the plugin stops; it starts again");
                return;
            }
            HOSTD_LOG(Debug, *name, "file unchanged (same content); nothing to do", {"content", file.content});
            return;
        }
        std::string sha = file.content;
        if (_ctx.crashHistory && config().host.crashQuarantine > 0) {
            int crashes = _ctx.crashHistory->crashes(*name, sha);
            if (crashes >= config().host.crashQuarantine) {
                std::string why = "crashed hostd in " + std::to_string(crashes) + " runs in a row (crash_quarantine = " +
                                  std::to_string(config().host.crashQuarantine) + ")";
                if (existing && existing->image && (existing->active() || existing->state == PluginState::Stuck)) {
                    existing->rejected = sha;  // a version runs: this one is refused like a file that cannot load
                    throw LoadError(why);
                }
                Plugin& p = record(*name);
                if (p.state != PluginState::Quarantined) _scheduler.recovery().quarantine(p, LifecycleEvent::CrashedBefore, why + "; not loaded");
                return;
            }
        }
        try {
            image = _ctx.executor.load(std::move(file), config().host.loadTimeout);
        } catch (const LoadError&) {
            if (existing) existing->rejected = sha;
            throw;
        }
    } catch (const FileBusy& e) {
        // Its writer's close brings another look; so must a chmod, which changes the ctime too:
        // one landing while the file was read (cp, then chmod 644) is the last event it gets.
        if (existing) existing->fileNotTaken = true;
        HOSTD_LOG(Debug, *name, "file changed while it was read; waiting for its next close or chmod", {"file", path});
        return;
    } catch (const LoadError& e) {
        StatusBoard::instance().loadFailed(e.what());
        Plugin& p = record(*name);
        if (p.image) {
            HOSTD_LOG(Error, p.name, "new file refused; the running version stays", {"file", path}, {"error", e.what()});
            p.fileNotTaken = true;
            return;
        }
        if (p.reason != e.what()) HOSTD_LOG(Error, p.name, "cannot load plugin", {"file", path}, {"error", e.what()});
        if (p.state != PluginState::Stuck) _scheduler.apply(p, LifecycleEvent::LoadRefused, e.what());  // stuck stays: its code may run
        return;
    }
    for (const auto& r : image->dependencies())
        if (!isValidPluginName(r) || r == *name) {
            StatusBoard::instance().loadFailed("descriptor requires an invalid plugin name");
            HOSTD_LOG(Error, *name, "cannot load plugin", {"file", path},
                      {"error", "descriptor requires an invalid plugin name '" + r + "'"});
            if (!_ctx.executor.unload(*name, std::move(image), config().host.loadTimeout)) record(*name).stale = true;
            return;
        }
    HOSTD_LOG(Info, *name, existing && existing->image ? "new version loaded" : "loaded", {"file", path},
              {"version", image->version()}, {"content", image->content()}, {"size", std::to_string(image->size())},
              {"held", std::to_string(image->heldBytes())},
              {"requires", joined(image->dependencies(), ",")}, {"duration_ms", ms(millis(image->loadDuration()))});
    Plugin& p = record(*name);
    p.rejected.clear();
    fileTaken(p);
    if (p.active() || p.state == PluginState::Stuck) {
        // An upgrade: stop dependents and the old version, then start the new one (rolled back
        // if its start fails). A stuck old version can never be stopped.
        if (p.state == PluginState::Stuck) {
            HOSTD_LOG(Error, p.name, "restart hostd to upgrade " + p.name, {"reason", "the running version is stuck"});
            _scheduler.unloadImage(p, std::move(image));
            return;
        }
        _scheduler.unloadImage(p, std::move(p.candidate));
        p.candidate = std::move(image);
        HOSTD_LOG(Notice, p.name, "upgrading", {"to_content", p.candidate->content()});
        _scheduler.requestStop(p, AfterStop::Replace);
        return;
    }
    _scheduler.unloadImage(p, std::move(p.image));
    p.image = std::move(image);
    p.failures.clear();  // new content: a clean slate for restarts and quarantine
    p.since = Clock::now();
    _scheduler.resolveDependencies(p);
    _scheduler.apply(p, LifecycleEvent::CodeLoaded);
    p.afterStop = AfterStop::None;
    _scheduler.rebuildGraph();
    _scheduler.startIfReady(p);
}

void DirectoryFollower::fileGone(const std::string& fileName) {
    auto name = PluginDirectory::pluginName(fileName);
    if (!name || _ctx.phase == HostPhase::Draining) return;
    Plugin* p = _scheduler.find(*name);
    if (p == nullptr) return;
    if (p->state == PluginState::Stuck) {
        HOSTD_LOG(Warning, p->name, "file removed, but the plugin is stuck; it stays loaded until hostd restarts");
        return;
    }
    if (p->active()) HOSTD_LOG(Notice, p->name, "file removed; stopping it and its dependents", {"file", p->path});
    _scheduler.requestStop(*p, AfterStop::Remove);
}

}  // namespace hostd
