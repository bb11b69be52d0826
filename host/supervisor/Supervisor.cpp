#include "Supervisor.h"

#include "ControlServer.h"
#include "CrashGuard.h"
#include "ExitCode.h"
#include "Log.h"
#include "LogOutput.h"
#include "LogSetup.h"
#include "StatusBoard.h"
#include "SupervisorInternal.h"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <set>
#include <system_error>
#include <unistd.h>

namespace hostd {

using detail::millis;

namespace {

std::string signalName(int sig) {
    const char* abbrev = sigabbrev_np(sig);
    return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

}  // namespace

Supervisor::Supervisor(ConfigPtr config, ConfigSource source, std::optional<ControlSocket> control, std::string metricsToken)
    : _config(std::move(config)), _source(std::move(source)) {
    _loop.add(_signals.fd(), [this] {
        while (auto sig = _signals.read()) onSignal(*sig);
    });
    _loop.add(_executor->completionFd(), [this] {
        for (auto& c : _executor->takeCompleted()) _completions.push_back(std::move(c));
        applyCompletions();
        schedule();  // once for the batch: a cold start completes hundreds of starts at once
    });
    _loop.add(FailureInbox::instance().fd(), [this] {
        for (auto& [name, message] : FailureInbox::instance().take()) onReportedFailure(name, message);
    });
    openControl(std::move(control));
    StatusBoard::instance().configApplied(_config);
    _metrics = MetricsServer::create(*_config, _loop, std::move(metricsToken));
}

void Supervisor::applyCompletions() {
    // One at a time off a member queue: if applying one hangs in a plugin's unload, the thread
    // that takes the loop over finds the rest here.
    while (!_completions.empty()) {
        auto [id, result] = std::move(_completions.front());
        _completions.pop_front();
        onCompleted(id, std::move(result));
    }
}

void Supervisor::onReportedFailure(const std::string& name, const std::string& message) {
    Plugin* p = find(name);
    if (p == nullptr || _phase == Phase::Draining) return;
    if (p->state != PluginState::Running && p->state != PluginState::Reloading) {
        HOSTD_LOG(Debug, name, "failure report ignored: the plugin is not running", {"error", message});
        return;
    }
    HOSTD_LOG(Error, name, "plugin reported a failure; restarting it", {"error", message});
    p->reportedFailure = "reported failure: " + message;
    requestStop(*p, AfterStop::Fail);
    schedule();
}

Supervisor::~Supervisor() = default;

std::string Supervisor::pluginDir() const { return _source.pluginDir ? *_source.pluginDir : _config->host.pluginDir; }

Plugin* Supervisor::find(const std::string& name) {
    auto it = _plugins.find(name);
    return it == _plugins.end() ? nullptr : it->second.get();
}

Plugin* Supervisor::findByCall(std::uint64_t id) {
    auto it = _callers.find(id);
    if (it == _callers.end()) return nullptr;
    Plugin* p = find(it->second);
    _callers.erase(it);  // a call completes once
    return p != nullptr && p->callId == id ? p : nullptr;
}

int Supervisor::run() {
    HOSTD_LOG(Info, "", "starting", {"plugin_dir", pluginDir()}, {"config", detail::joined(_config->files)},
              {"pid", std::to_string(::getpid())});
    openCrashHistory();
    watchConfig();
    watchPluginDir();
    schedule();
    return loop();
}

int Supervisor::loop() {
    while (_phase != Phase::Done) {
        _loop.runOnce(nextDeadline());
        checkDeadlines();
        _notifier.sendDue();  // WATCHDOG=1 only from here: a stuck loop stops the pings
    }
    return finish();
}

void Supervisor::continueAfterHungLoad(const LoadWatch::Job& job) {
    // The main thread is inside the plugin's code, in the middle of a batch of events: what it
    // had not done yet is found again below (call completions still queued, the rescan). Its
    // read-ahead lives on its stack.
    _prefetch = nullptr;
    CrashGuard::abandonImageScope();  // counted here; a later watchdog abort is not this
    bool load = std::string_view(job.what) == "load";
    HOSTD_LOG(Error, job.plugin, std::string("plugin code did not return from its ") + job.what + " within load_timeout; " +
                  "no plugin can be loaded or unloaded until hostd restarts, the others keep running",
              {"load_timeout", ms(millis(_config->host.loadTimeout))}, {"sha256", job.sha256},
              {"cause", load ? "an ELF constructor or its entry function hangs" : "an ELF destructor hangs"});
    StatusBoard::instance().loaderHeld();
    // Counted like a crashed run: under Restart=always, the next runs quarantine it.
    if (_crashHistory) _crashHistory->countRun(job.plugin, job.sha256);
    Plugin& p = record(job.plugin);
    if (load) p.rejected = job.sha256;  // the rescan below, and later events of this content, leave it be
    if (p.image)  // what hung was a new version, or a retired one: the running version stays
        HOSTD_LOG(Error, p.name, "the running version stays", {"file", p.path}, {"sha256", p.image->sha256()});
    else
        apply(p, LifecycleEvent::CodeHung, std::string(job.what) + " never returned");
    int code = kExitStopTimeout;
    if (_phase == Phase::Done) {  // hung in finish(): the drain is over
        HOSTD_LOG(Notice, "", "drained", {"exit_code", std::to_string(code)});
    } else {
        try {
            applyCompletions();
            if (ConfigPtr old = _reloadApplying) {
                HOSTD_LOG(Notice, "", "finishing the configuration reload the hung load interrupted",
                          {"generation", std::to_string(_generation)});
                finishReload(*old);  // each step again: done ones change nothing, loads are refused
            }
            if (_phase != Phase::Draining) rescan();  // each file not loaded yet says why
            schedule();
            code = loop();
        } catch (const std::exception& e) {  // what run()'s caller would have caught
            HOSTD_LOG(Error, "", "fatal system error", {"error", e.what()});
            code = kExitOsError;
        }
    }
    _exitAfterTakeover(code);
    std::_Exit(code);  // a hook that returned
}

void Supervisor::openCrashHistory() {
    _crashHistory = std::make_unique<CrashHistory>(_config->host.stateDir);
    if (!_crashHistory->usable()) {
        HOSTD_LOG(Warning, "", "state directory unusable; crash attribution and crash quarantine are off",
                  {"state_dir", _config->host.stateDir}, {"reason", _crashHistory->why()});
        CrashGuard::install(-1);
        return;
    }
    CrashGuard::install(_crashHistory->dirFd());
    if (auto crumb = _crashHistory->takeBreadcrumb()) {
        std::string where = crumb->plugin.empty() ? "outside any plugin" : "in plugin " + crumb->plugin;
        std::string what = crumb->signal + (crumb->plugin.empty() ? "" : " in " + crumb->callback);
        HOSTD_LOG(Error, crumb->plugin, "previous run crashed " + where + " (" + what + ")", {"signal", crumb->signal},
                  {"callback", crumb->callback});
    }
}

void Supervisor::reportReadyOnce() {
    if (_phase != Phase::Starting) return;
    std::map<PluginState, int> counts;
    for (const auto& [_, p] : _plugins) {
        if (p->state == PluginState::Starting) return;
        counts[p->state]++;
    }
    _phase = Phase::Running;
    StatusBoard::instance().phase(StatusBoard::Phase::Running);
    int failed = counts[PluginState::Failed] + counts[PluginState::Invalid];
    _notifier.ready("running " + std::to_string(counts[PluginState::Running]) + " plugins, " + std::to_string(failed) +
                    " failed");
    _notifier.cancelExtension();
    HOSTD_LOG(Notice, "", "ready", {"running", std::to_string(counts[PluginState::Running])},
              {"failed", std::to_string(failed)}, {"pending", std::to_string(counts[PluginState::Pending])},
              {"blocked", std::to_string(counts[PluginState::Blocked])},
              {"disabled", std::to_string(counts[PluginState::Disabled])});
}

void Supervisor::onSignal(int sig) {
    switch (sig) {
    case SIGTERM:
    case SIGINT:
    case SIGQUIT:
        if (_phase == Phase::Draining) {
            HOSTD_LOG(Error, "", "second termination signal during the drain; exiting now", {"signal", signalName(sig)},
                      {"exit_code", std::to_string(kExitForced)});
            std::_Exit(kExitForced);
        }
        beginDrain(signalName(sig));
        break;
    case SIGHUP:
        if (_phase == Phase::Draining)
            HOSTD_LOG(Notice, "", "SIGHUP ignored while draining");
        else
            rereadConfiguration("SIGHUP");
        break;
    case SIGUSR2:
        // Reconciles with the directory as it is: what inotify cannot report (a hard link made
        // into the directory) or lost (an overflowed queue is already handled the same way).
        if (_phase != Phase::Draining) {
            HOSTD_LOG(Notice, "", "rescanning the plugin directory", {"signal", signalName(sig)}, {"path", pluginDir()});
            rescan();
        }
        break;
    case SIGUSR1:  // logrotate's postrotate, also while draining: lines keep coming
        reopenLogFile();
        break;
    default:
        HOSTD_LOG(Debug, "", "signal ignored", {"signal", signalName(sig)});
        break;
    }
}

void Supervisor::beginDrain(std::string_view why) {
    _phase = Phase::Draining;
    StatusBoard::instance().phase(StatusBoard::Phase::Draining);
    setHostStopping(true);
    _drainStarted = Clock::now();
    _drainDeadline = _drainStarted + _config->host.stopTimeout;
    _notifier.extendTimeoutUntil(_drainDeadline);
    int active = 0;
    for (const auto& [_, p] : _plugins) active += p->active() ? 1 : 0;
    _notifier.stopping("draining " + std::to_string(active) + " plugins (" + std::string(why) + ")");
    HOSTD_LOG(Notice, "", "draining", {"reason", std::string(why)}, {"plugins", std::to_string(active)},
              {"budget", formatDuration(_config->host.stopTimeout)});
    scheduleDrain();
}

void Supervisor::scheduleDrain() {
    refreshGraph();
    std::set<std::string> active;
    for (const auto& [name, p] : _plugins)
        if (p->active()) active.insert(name);
    if (active.empty()) {
        _phase = Phase::Done;
        return;
    }
    for (const auto& name : _graph.stoppable(active, {})) {
        Plugin& p = *find(name);
        if (p.state == PluginState::Running) submitStop(p);
    }
}

void Supervisor::watchConfig() {
    // Watch directories, not the file: editors and sed -i replace the file by a rename, and a
    // watch on the old inode goes silent (DESIGN.md section 4).
    auto slash = _source.path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : _source.path.substr(0, slash);
    try {
        // Neither directory is held open, so their removal is seen without watching the parent.
        _configDirWatcher = std::make_unique<DirectoryWatcher>(dir, DirectoryWatcher::ParentWatch::WhileMissing);
        _dropinWatcher =
            std::make_unique<DirectoryWatcher>(_source.path + ".d", DirectoryWatcher::ParentWatch::WhileMissing);
    } catch (const std::system_error& e) {
        HOSTD_LOG(Warning, "", "cannot watch the configuration; reload with SIGHUP", {"error", e.what()});
        _configDirWatcher.reset();
        _dropinWatcher.reset();
        return;
    }
    _loop.add(_configDirWatcher->fd(), [this] { onConfigEvents(*_configDirWatcher, false); });
    _loop.add(_dropinWatcher->fd(), [this] { onConfigEvents(*_dropinWatcher, true); });
}

void Supervisor::onConfigEvents(DirectoryWatcher& watcher, bool dropins) {
    const std::string mainName = _source.path.substr(_source.path.rfind('/') + 1);
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
    if (!relevant || _phase == Phase::Draining) return;
    // Debounce: an editor or a package writes several files in a burst; reload once it is quiet
    // for 100 ms, and at the latest 1 s after the first change.
    auto now = Clock::now();
    if (_configFirstChange == Clock::time_point::max()) _configFirstChange = now;
    _configDue = std::min(now + std::chrono::milliseconds(100), _configFirstChange + std::chrono::seconds(1));
}

std::optional<Clock::time_point> Supervisor::nextDeadline() const {
    Clock::time_point next = std::min(_drainDeadline, _configDue);
    if (auto due = _notifier.nextDue()) next = std::min(next, *due);
    if (auto due = _control ? _control->nextDeadline() : std::nullopt) next = std::min(next, *due);
    if (auto due = _metrics ? _metrics->nextDeadline() : std::nullopt) next = std::min(next, *due);
    for (const auto& [_, p] : _plugins) {
        if (p->busy()) next = std::min(next, p->callDeadline);
        if (p->state == PluginState::Failed) next = std::min(next, p->retryAt);
    }
    if (next == Clock::time_point::max()) return std::nullopt;
    return next;
}

void Supervisor::checkDeadlines() {
    auto now = Clock::now();
    if (_control) _control->onTurn(now);
    if (_metrics) _metrics->expire(now);
    bool changed = false;
    for (auto& [_, p] : _plugins) {
        if (!p->busy() || p->callDeadline > now) continue;
        Millis budget = std::chrono::round<Millis>(p->callDeadline - p->callStarted);
        HOSTD_LOG(Error, p->name, "call overran its deadline; abandoned, never unloaded",
                  {"call", std::string(p->callName)}, {"deadline", formatDuration(budget)});
        if (p->callName == "stop") _stopTimedOut = true;  // never stopped cleanly, whenever it was
        _executor->abandon(p->callId);
        _abandoned = true;
        apply(*p, LifecycleEvent::CallOverran, std::string(p->callName) + " overran its deadline");
        changed = true;
    }
    for (auto& [_, p] : _plugins) {
        if (p->state != PluginState::Failed || p->retryAt > now || _phase == Phase::Draining) continue;
        p->retryAt = Clock::time_point::max();
        HOSTD_LOG(Info, p->name, "restarting after backoff", {"failures", std::to_string(p->failures.size())});
        apply(*p, LifecycleEvent::BackoffOver);
        changed = true;
    }
    if (now >= _configDue) {
        _configDue = _configFirstChange = Clock::time_point::max();
        if (_phase != Phase::Draining) rereadConfiguration("configuration file changed");
    }
    if (_phase == Phase::Draining && now >= _drainDeadline) {
        for (auto& [_, p] : _plugins) {
            if (!p->active()) continue;
            HOSTD_LOG(Error, p->name, "not stopped: the drain budget ran out",
                      {"stop_timeout", formatDuration(_config->host.stopTimeout)}, {"state", std::string(stateName(p->state))});
            if (p->busy()) {
                _executor->abandon(p->callId);
                _abandoned = true;
            }
            _stopTimedOut = true;
            apply(*p, LifecycleEvent::DrainBudgetOver, "drain budget ran out");
            changed = true;
        }
    }
    if (changed) schedule();
}

void Supervisor::rereadConfiguration(std::string_view why) {
    HOSTD_LOG(Info, "", "reloading configuration", {"reason", std::string(why)}, {"config", _source.path});
    _notifier.reloading();
    ConfigLoad load = loadConfig(_source.path, _source.required);
    recordReload(why, load);
    for (const auto& issue : load.issues)
        Log::write(issue.warning ? Level::Warning : Level::Error, "", issue.str(), {}, __FILE_NAME__, __LINE__);
    if (!load.ok()) {
        HOSTD_LOG(Error, "", "configuration reload failed; keeping the previous configuration",
                  {"errors", std::to_string(load.issues.size())}, {"generation", std::to_string(_generation)});
        _notifier.ready("configuration reload failed; running on generation " + std::to_string(_generation));
        StatusBoard::instance().configReloadFailed();
        return;
    }
    ConfigPtr old = std::exchange(_config, load.config);
    ++_generation;
    applyLogLevels(*_config);
    reconfigureLog(_config->host);
    HOSTD_LOG(Notice, "", "configuration reloaded", {"generation", std::to_string(_generation)});
    StatusBoard::instance().configApplied(_config);
    MetricsServer::applyReload(_metrics.get(), *_config);
    _reloadApplying = old;  // a plugin load in what follows may hang: the loop's next thread finishes it
    finishReload(*old);
}

void Supervisor::finishReload(const ConfigSnapshot& old) {
    applyConfigChange(old);
    controlConfigChanged(old);
    _reloadApplying.reset();
    _notifier.ready("configuration generation " + std::to_string(_generation));
}

void Supervisor::warnAboutRestartOnlyKeys(const ConfigSnapshot& old) const {
    // Identity, limits and files opened once at startup cannot change in a running process
    // (privileges are dropped for good before any thread exists).
    static const std::set<std::string, std::less<>> kRestartOnly{
        "pidfile",   "user",           "group",          "capabilities",  "rlimit_nofile",       "rlimit_core",
        "rlimit_fsize", "state_dir", "control_socket", "metrics_listen", "metrics_allow_remote"};
    auto before = describe(old.host), after = describe(_config->host);
    for (std::size_t i = 0; i < after.size() && i < before.size(); ++i) {
        const auto& [key, value] = after[i];
        if (!kRestartOnly.contains(key) || value == before[i].second) continue;
        auto o = _config->hostOrigins.find(key);
        HOSTD_LOG(Warning, "", "configuration key changed; it takes effect when hostd restarts", {"key", key},
                  {"value", _config->display(key, value)}, {"running_with", old.display(key, before[i].second)},
                  {"config", o == _config->hostOrigins.end() ? _source.path : o->second.str()});
    }
}

void Supervisor::applyLogLevels(const ConfigSnapshot& config) {
    if (auto level = parseLevel(config.host.logLevel)) Log::setLevel(*level);
    std::map<std::string, Level, std::less<>> levels;
    for (const auto& [name, section] : config.plugins)
        if (auto level = parseLevel(section.logLevel)) levels.emplace(name, *level);
    Log::setPluginLevels(std::move(levels));
}

void Supervisor::applyConfigChange(const ConfigSnapshot& old) {
    warnAboutRestartOnlyKeys(old);
    if (old.host.pluginDir != _config->host.pluginDir && !_source.pluginDir) {
        HOSTD_LOG(Notice, "", "plugin_dir changed; watching the new directory", {"plugin_dir", pluginDir()},
                  {"previous", old.host.pluginDir});
        watchPluginDir();
    }
    bool graphChanged = false;
    for (auto& [name, p] : _plugins) {
        const PluginSection* a = old.plugin(name);
        const PluginSection* b = _config->plugin(name);
        bool wasEnabled = a == nullptr || a->enabled, enabled = b == nullptr || b->enabled;
        bool sectionChanged = (a == nullptr) != (b == nullptr) || (a && b && !a->sameSettings(*b));
        if (p->state == PluginState::Quarantined && enabled && sectionChanged) {
            releaseQuarantine(*p, "its configuration section changed");
        } else if (wasEnabled && !enabled) {
            HOSTD_LOG(Notice, name, "disabled by configuration; stopping it and its dependents");
            requestStop(*p, AfterStop::Disable);
        } else if (!wasEnabled && enabled && p->state == PluginState::Disabled) {
            HOSTD_LOG(Notice, name, "enabled by configuration");
            fileReady(name + ".so");
        } else if ((a ? a->dependencies : std::vector<std::string>{}) != (b ? b->dependencies : std::vector<std::string>{}) &&
                   p->image) {
            resolveDependencies(*p);
            graphChanged = true;
            if (p->active()) {
                HOSTD_LOG(Notice, name, "requires changed; restarting in the new order",
                          {"requires", detail::joined(p->dependencies, ",")});
                requestStop(*p, AfterStop::Restart);
            }
        }
    }
    for (const auto& [name, section] : _config->plugins)
        if (!find(name) && section.enabled && !(old.plugin(name) && old.plugin(name)->enabled) && _dir)
            fileReady(name + ".so");  // a plugin whose file was waiting for its section to be enabled
    if (graphChanged) rebuildGraph();
    schedule();
}

int Supervisor::finish() {
    int code = kExitOk;
    for (auto& [name, p] : _plugins) {
        // A plugin that ran and stopped without crashing the process: its crash count restarts.
        if (_crashHistory && p->state == PluginState::Stopped) _crashHistory->forget(name);
        if (p->state == PluginState::Stuck) _stopTimedOut = true;  // never stopped cleanly
    }
    code = _stopTimedOut ? kExitStopTimeout : _stopFailed ? kExitStopFailed : kExitOk;
    for (auto& [_, p] : _plugins)
        if (p->state != PluginState::Stuck) {
            unloadImage(*p, std::move(p->image));
            unloadImage(*p, std::move(p->candidate));
            unloadImage(*p, std::move(p->previous));
        } else {
            // Its abandoned call may still run its code: not unmapped, not even when the
            // Supervisor goes (the process then ends with _Exit, hasAbandonedCalls()).
            (void)p->image.release();
            (void)p->candidate.release();
            (void)p->previous.release();
        }
    auto took = Clock::now() - _drainStarted;  // unloading (and verifying it) is part of the drain
    StatusBoard::instance().phase(StatusBoard::Phase::Done);
    HOSTD_LOG(Notice, "", "drained", {"duration_ms", ms(millis(took))}, {"exit_code", std::to_string(code)});
    return code;
}

}  // namespace hostd
