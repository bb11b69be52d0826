#include "Supervisor.h"

#include "Children.h"
#include "ControlServer.h"
#include "HostctlCommands.h"
#include "CrashGuard.h"
#include "ExitCode.h"
#include "Log.h"
#include "LogOutput.h"
#include "LogSetup.h"
#include "ProcessExecutor.h"
#include "RunnerProcess.h"
#include "RoutingExecutor.h"
#include "StatusBoard.h"
#include "SupervisorInternal.h"

#include <algorithm>
#include <ctime>
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
    _loop.add(_executor->completionFd(), [this] { _scheduler.takeCompletions(); });
    _loop.add(FailureInbox::instance().fd(), [this] {
        for (auto& report : FailureInbox::instance().take()) _scheduler.recovery().reportedFailure(report);
    });
    openControl(std::move(control));
    StatusBoard::instance().configApplied(_config);
    _metrics = MetricsServer::create(*_config, _loop, std::move(metricsToken));
}

Supervisor::~Supervisor() = default;

std::string Supervisor::pluginDir() const { return _source.pluginDir ? *_source.pluginDir : _config->host.pluginDir; }

std::unique_ptr<PluginExecutor> Supervisor::makeExecutor() {
    auto inProcess = std::make_unique<InProcessExecutor>([this](const LoadWatch::Job& job) { continueAfterHungLoad(job); });
    auto isolated = std::make_unique<ProcessExecutor>(
        runnerPath(),
        [](const std::string& plugin, const std::string& message, bool runnerEnded) {
            FailureInbox::instance().post({plugin, message, runnerEnded});
        },
        [this] { return _config; });
    return std::make_unique<RoutingExecutor>(std::move(inProcess), std::move(isolated),
                                             [this](const std::string& plugin) { return _config->isolated(plugin); });
}

SchedulerContext Supervisor::context() {
    return {_config,
            _phase,
            _drainDeadline,
            *_executor,
            _notifier,
            _crashHistory,
            [this] { reportReadyOnce(); },
            [this] { _phase = HostPhase::Done; },
            [this](const std::string& fileName) { _directory.fileReady(fileName); }};
}

int Supervisor::run() {
    HOSTD_LOG(Info, "", "starting", {"plugin_dir", pluginDir()}, {"config", detail::joined(_config->files)},
              {"pid", std::to_string(::getpid())});
    openCrashHistory();
    _configWatch.watch();
    _directory.watch();
    _scheduler.schedule();
    return loop();
}

int Supervisor::loop() {
    while (_phase != HostPhase::Done) {
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
    _directory.abandonReadAhead();
    CrashGuard::abandonImageScope();  // counted here; a later watchdog abort is not this
    bool load = std::string_view(job.what) == "load";
    HOSTD_LOG(Error, job.plugin, std::string("plugin code did not return from its ") + job.what + " within load_timeout; " +
                  "no plugin can be loaded or unloaded until hostd restarts, the others keep running",
              {"load_timeout", ms(millis(_config->host.loadTimeout))}, {"content", job.content},
              {"cause", load ? "an ELF constructor or its entry function hangs" : "an ELF destructor hangs"});
    StatusBoard::instance().loaderHeld();
    // Counted like a crashed run: under Restart=always, the next runs quarantine it.
    if (_crashHistory) _crashHistory->countRun(job.plugin, job.content);
    Plugin& p = _scheduler.record(job.plugin, pluginDir() + "/" + job.plugin + ".so");
    if (load) p.rejected = job.content;  // the rescan below, and later events of this content, leave it be
    if (p.image)  // what hung was a new version, or a retired one: the running version stays
        HOSTD_LOG(Error, p.name, "the running version stays", {"file", p.path}, {"content", p.image->content()});
    else
        _scheduler.apply(p, LifecycleEvent::CodeHung, std::string(job.what) + " never returned");
    int code = kExitStopTimeout;
    if (_phase == HostPhase::Done) {  // hung in finish(): the drain is over
        HOSTD_LOG(Notice, "", "drained", {"exit_code", std::to_string(code)});
    } else {
        try {
            _scheduler.applyCompletions();
            if (ConfigPtr old = _reloadApplying) {
                HOSTD_LOG(Notice, "", "finishing the configuration reload the hung load interrupted",
                          {"generation", std::to_string(_generation)});
                finishReload(*old);  // each step again: done ones change nothing, loads are refused
            }
            if (_phase != HostPhase::Draining) _directory.rescan();  // each file not loaded yet says why
            _scheduler.schedule();
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
    CrashGuard::install(_crashHistory->dirFd(), _config->host.stateDir);
    if (auto crumb = _crashHistory->takeBreadcrumb()) {
        std::string where = crumb->plugin.empty() ? "outside any plugin" : "in plugin " + crumb->plugin;
        std::string what = crumb->signal + (crumb->plugin.empty() ? "" : " in " + crumb->callback);
        HOSTD_LOG(Error, crumb->plugin, "previous run crashed " + where + " (" + what + ")", {"signal", crumb->signal},
                  {"callback", crumb->callback});
    }
}

void Supervisor::reportReadyOnce() {
    if (_phase != HostPhase::Starting) return;
    std::map<PluginState, int> counts;
    for (const auto& [_, p] : _scheduler.plugins()) {
        if (p->state == PluginState::Starting) return;
        counts[p->state]++;
    }
    _phase = HostPhase::Running;
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
        if (_phase == HostPhase::Draining) {
            HOSTD_LOG(Error, "", "second termination signal during the drain; exiting now", {"signal", signalName(sig)},
                      {"exit_code", std::to_string(kExitForced)});
            std::_Exit(kExitForced);
        }
        beginDrain(signalName(sig));
        break;
    case SIGHUP:
        if (_phase == HostPhase::Draining)
            HOSTD_LOG(Notice, "", "SIGHUP ignored while draining");
        else
            rereadConfiguration("SIGHUP");
        break;
    case SIGUSR2:
        // Reconciles with the directory as it is: what inotify cannot report (a hard link made
        // into the directory) or lost (an overflowed queue is already handled the same way).
        if (_phase != HostPhase::Draining) {
            HOSTD_LOG(Notice, "", "rescanning the plugin directory", {"signal", signalName(sig)}, {"path", pluginDir()});
            _directory.rescan();
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
    _phase = HostPhase::Draining;
    _configWatch.pause(true);  // edits wait for the next start
    StatusBoard::instance().phase(StatusBoard::Phase::Draining);
    setHostStopping(true);
    _executor->setStopping(true);
    _drainStarted = Clock::now();
    _drainDeadline = _drainStarted + _config->host.stopTimeout;
    _notifier.extendTimeoutUntil(_drainDeadline);
    int active = 0;
    for (const auto& [_, p] : _scheduler.plugins()) active += p->active() ? 1 : 0;
    _notifier.stopping("draining " + std::to_string(active) + " plugins (" + std::string(why) + ")");
    HOSTD_LOG(Notice, "", "draining", {"reason", std::string(why)}, {"plugins", std::to_string(active)},
              {"budget", formatDuration(_config->host.stopTimeout)});
    _scheduler.beginDrain();
}

std::optional<Clock::time_point> Supervisor::nextDeadline() const {
    Clock::time_point next = _drainDeadline;
    if (auto due = _configWatch.nextDeadline()) next = std::min(next, *due);
    if (auto due = _notifier.nextDue()) next = std::min(next, *due);
    if (auto due = _control ? _control->nextDeadline() : std::nullopt) next = std::min(next, *due);
    if (auto due = _metrics ? _metrics->nextDeadline() : std::nullopt) next = std::min(next, *due);
    if (auto due = _scheduler.nextDeadline()) next = std::min(next, *due);
    if (next == Clock::time_point::max()) return std::nullopt;
    return next;
}

void Supervisor::checkDeadlines() {
    auto now = Clock::now();
    if (_control) _control->onTurn(now);
    if (_metrics) _metrics->expire(now);
    _scheduler.recovery().checkDeadlines(now);
    if (_configWatch.due(now)) rereadConfiguration("configuration file changed");
}

void Supervisor::rereadConfiguration(std::string_view why) {
    HOSTD_LOG(Info, "", "reloading configuration", {"reason", std::string(why)}, {"config", _source.path});
    _notifier.reloading();
    ConfigLoad load = loadConfig(_source.path, _source.required);
    _lastReload = reloadRecord(why, load, _generation);
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

void Supervisor::applyLogLevels(const ConfigSnapshot& config) { hostd::applyLogLevels(config); }

void Supervisor::applyConfigChange(const ConfigSnapshot& old) {
    warnAboutRestartOnlyKeys(old, *_config, _source.path);
    if (old.host.pluginDir != _config->host.pluginDir && !_source.pluginDir) {
        HOSTD_LOG(Notice, "", "plugin_dir changed; watching the new directory", {"plugin_dir", pluginDir()},
                  {"previous", old.host.pluginDir});
        _directory.watch();
    }
    bool graphChanged = false;
    for (auto& [name, p] : _scheduler.plugins()) {
        const PluginSection* a = old.plugin(name);
        const PluginSection* b = _config->plugin(name);
        bool wasEnabled = a == nullptr || a->enabled, enabled = b == nullptr || b->enabled;
        bool sectionChanged = (a == nullptr) != (b == nullptr) || (a && b && !a->sameSettings(*b));
        if (p->state == PluginState::Quarantined && enabled && sectionChanged) {
            _scheduler.recovery().releaseQuarantine(*p, "its configuration section changed");
        } else if (wasEnabled && !enabled) {
            HOSTD_LOG(Notice, name, "disabled by configuration; stopping it and its dependents");
            _scheduler.requestStop(*p, AfterStop::Disable);
        } else if (p->image && p->image->isolated() != _config->isolated(name) && enabled) {
            // Its code is loaded again where it is to run; as for an upgrade, its dependents
            // stop first and the new load is started (or rolled back) in its place.
            HOSTD_LOG(Notice, name, "isolation changed; loading it again", {"isolation", _config->isolated(name) ? "process" : "in-process"});
            _directory.fileReady(name + ".so");
        } else if (p->image && p->image->isolated() && a && b && a->confinement != b->confinement && p->active()) {
            HOSTD_LOG(Notice, name, "confinement changed; restarting it in a new runner");
            _scheduler.requestStop(*p, AfterStop::Restart, "configuration");
        } else if (!wasEnabled && enabled && p->state == PluginState::Disabled) {
            HOSTD_LOG(Notice, name, "enabled by configuration");
            _directory.fileReady(name + ".so");
        } else if ((a ? a->dependencies : std::vector<std::string>{}) != (b ? b->dependencies : std::vector<std::string>{}) &&
                   p->image) {
            _scheduler.resolveDependencies(*p);
            graphChanged = true;
            if (p->active()) {
                HOSTD_LOG(Notice, name, "requires changed; restarting in the new order",
                          {"requires", detail::joined(p->dependencies, ",")});
                _scheduler.requestStop(*p, AfterStop::Restart, "configuration");
            }
        }
    }
    for (const auto& [name, section] : _config->plugins)
        if (!_scheduler.find(name) && section.enabled && !(old.plugin(name) && old.plugin(name)->enabled) &&
            _directory.watching())
            _directory.fileReady(name + ".so");  // a plugin whose file was waiting for its section to be enabled
    if (graphChanged) _scheduler.rebuildGraph();
    _scheduler.schedule();
}

int Supervisor::finish() {
    int code = kExitOk;
    for (auto& [name, p] : _scheduler.plugins()) {
        // A plugin that ran and stopped without crashing the process: its crash count restarts.
        if (_crashHistory && p->state == PluginState::Stopped) _crashHistory->forget(name);
        if (p->state == PluginState::Stuck) _scheduler.markStopTimedOut();  // never stopped cleanly
    }
    code = _scheduler.stopTimedOut() ? kExitStopTimeout : _scheduler.stopFailed() ? kExitStopFailed : kExitOk;
    for (auto& [_, p] : _scheduler.plugins())
        if (p->state != PluginState::Stuck) {
            _scheduler.unloadImage(*p, std::move(p->image));
            _scheduler.unloadImage(*p, std::move(p->candidate));
            _scheduler.unloadImage(*p, std::move(p->previous));
        } else {
            // Its abandoned call may still run its code: not unmapped, not even when the
            // Supervisor goes (the process then ends with _Exit, hasAbandonedCalls()).
            (void)p->image.release();
            (void)p->candidate.release();
            (void)p->previous.release();
        }
    endLeftoverChildren(std::chrono::seconds(1));  // every plugin is down: what they forked is no one's
    auto took = Clock::now() - _drainStarted;  // unloading (and verifying it) is part of the drain
    StatusBoard::instance().phase(StatusBoard::Phase::Done);
    HOSTD_LOG(Notice, "", "drained", {"duration_ms", ms(millis(took))}, {"exit_code", std::to_string(code)});
    return code;
}

void Supervisor::openControl(std::optional<ControlSocket> socket) {
    if (!socket) return;
    const HostSettings& h = _config->host;
    std::optional<gid_t> group = h.controlGroup.empty() ? std::nullopt : resolveControlGroup(h.controlGroup);
    addHostctlCommands(_commands, _operations);
    _control = std::make_unique<ControlServer>(_loop, std::move(*socket), _commands);
    _control->setGroup(group);
}

void Supervisor::controlConfigChanged(const ConfigSnapshot& old) {
    const HostSettings &was = old.host, &now = _config->host;
    // A changed control_socket is named by warnAboutRestartOnlyKeys.
    if (!_control || was.controlGroup == now.controlGroup) return;
    if (_executor->hungLoad() != nullptr) {
        // Looking a group name up may dlopen an NSS module, which would wait for the loader for good.
        HOSTD_LOG(Error, "", "control_group not changed: a hung plugin load holds the dynamic loader; restart hostd",
                  {"control_group", now.controlGroup}, {"previous", was.controlGroup});
        return;
    }
    std::optional<gid_t> group;
    if (!now.controlGroup.empty() && !(group = resolveControlGroup(now.controlGroup))) {
        HOSTD_LOG(Error, "", "control_group does not exist; keeping the previous one", {"control_group", now.controlGroup},
                  {"previous", was.controlGroup});
        return;
    }
    _control->setGroup(group);
    // Who is authorised changes now; the socket file's group (whom the file system lets in) only
    // when hostd restarts, since hostd may no longer have the right to change it.
    HOSTD_LOG(Notice, "", "control_group changed; the socket file keeps its group until hostd restarts",
              {"control_group", now.controlGroup}, {"path", _control->path()});
}

}  // namespace hostd
