#include "HostApplication.h"

#include "ConfigCheck.h"
#include "ControlServer.h"
#include "Children.h"
#include "Daemon.h"
#include "ExitCode.h"
#include "Log.h"
#include "LogOutput.h"
#include "LogSetup.h"
#include "MetricsServer.h"
#include "Notifier.h"
#include "PluginThreads.h"
#include "Privileges.h"
#include "RunnerProcess.h"
#include "Rlimits.h"
#include "StartupError.h"
#include "Supervisor.h"

#include <hostd/plugin.h>

#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>

#include <filesystem>
#include <iostream>

#ifndef HOSTD_VERSION
#define HOSTD_VERSION "0.0.0"
#endif

namespace hostd {

using Poco::Util::Option;

namespace {

/// Clears the readiness hook when the report it points to goes away.
struct ReadinessHookScope {
    explicit ReadinessHookScope(StartupReport& report) {
        Notifier::setReadinessHook([&report] { report.ready(); });
    }
    ~ReadinessHookScope() { Notifier::setReadinessHook({}); }
    ReadinessHookScope(const ReadinessHookScope&) = delete;
    ReadinessHookScope& operator=(const ReadinessHookScope&) = delete;
};

std::string absolute(const std::string& path) { return std::filesystem::absolute(path).lexically_normal().string(); }

}  // namespace

HostApplication::HostApplication() { setUnixOptions(true); }

int HostApplication::run(int argc, char** argv) {
    try {
        init(argc, argv);
    } catch (const Poco::Exception& e) {
        std::cerr << "hostd: " << e.displayText() << " (see --help)\n";
        return kExitUsage;
    }
    return Application::run();
}

void HostApplication::defineOptions(Poco::Util::OptionSet& options) {
    // Not ServerApplication::defineOptions: its --daemon and --pidfile are replaced (see run()).
    Application::defineOptions(options);
    options.addOption(Option("config", "c", "configuration file (default /etc/hostd.conf)")
                          .required(false).repeatable(false).argument("FILE"));
    options.addOption(Option("plugin-dir", "p", "plugin directory, overrides plugin_dir of the configuration")
                          .required(false).repeatable(false).argument("DIR"));
    options.addOption(Option("check-config", "t", "check the configuration, print every error, and exit (0 or 78)")
                          .required(false).repeatable(false));
    options.addOption(Option("verbose", "v", "with --check-config: print every value and where it came from")
                          .required(false).repeatable(false));
    options.addOption(Option("daemon", "d", "run in the background; exit 0 once the plugins started, or print why "
                                            "the start failed and exit with its code")
                          .required(false).repeatable(false));
    options.addOption(Option("pidfile", "", "write the pid to FILE and lock it; overrides pidfile of the configuration")
                          .required(false).repeatable(false).argument("FILE"));
    options.addOption(Option("help", "h", "print this help and exit").required(false).repeatable(false));
    options.addOption(Option("version", "V", "print the version and exit").required(false).repeatable(false));
}

void HostApplication::handleOption(const std::string& name, const std::string& value) {
    ServerApplication::handleOption(name, value);
    if (name == "config") {
        _configPath = value;
        _configExplicit = true;
    } else if (name == "plugin-dir") {
        if (value.empty() || value.front() != '/') {
            std::cerr << "hostd: --plugin-dir must be an absolute path, got '" << value << "'\n";
            _usageError = true;
        }
        _pluginDir = value;
    } else if (name == "pidfile") {
        if (value.empty()) {
            std::cerr << "hostd: --pidfile needs a file name\n";
            _usageError = true;
        } else {
            _pidfilePath = absolute(value);
        }
    } else if (name == "daemon") {
        _daemon = true;
    } else if (name == "check-config") {
        _checkConfig = true;
    } else if (name == "verbose") {
        _verbose = true;
    } else if (name == "help") {
        _helpRequested = true;
        stopOptionsProcessing();
    } else if (name == "version") {
        _versionRequested = true;
        stopOptionsProcessing();
    }
}

void HostApplication::printHelp() {
    Poco::Util::HelpFormatter help(options());
    help.setUnixStyle(true);
    help.setCommand("hostd");
    help.setUsage("[OPTIONS]");
    help.setHeader("Loads the plugins of a directory, starts them in dependency order, and drains them in "
                   "reverse order on SIGTERM. SIGHUP reloads the configuration.");
    help.setFooter("Exit codes: 0 clean drain; 3 a plugin's stop failed; 4 a stop overran its deadline; "
                   "5 second signal during the drain; 6 a plugin called exit(); 7 a plugin closed one of hostd's descriptors; 64 bad usage; 70 internal error (or the daemon died before "
                   "it was ready); 71 a system resource could not be set up (pidfile held, privileges, limits); "
                   "78 configuration error.");
    help.format(std::cout);
}

std::optional<int> HostApplication::answerWithoutStarting(const std::vector<std::string>& args) {
    if (_helpRequested) {
        printHelp();
        return kExitOk;
    }
    if (_versionRequested) {
        std::cout << "hostd " << HOSTD_VERSION << " (plugin ABI " << HOSTD_ABI_MAJOR << "." << HOSTD_ABI_MINOR << ")\n";
        return kExitOk;
    }
    if (_usageError) return kExitUsage;
    if (!args.empty()) {
        std::cerr << "hostd: unexpected argument '" << args.front() << "' (see --help)\n";
        return kExitUsage;
    }
    return std::nullopt;
}

int HostApplication::main(const std::vector<std::string>& args) {
    if (auto code = answerWithoutStarting(args)) return *code;
    ConfigSource source{_configPath, _configExplicit, _pluginDir};
    if (_checkConfig) return checkConfig(source, _verbose, std::cout);

    ConfigLoad load = loadConfig(source.path, source.required);
    for (const auto& issue : load.issues) std::cerr << issue.str() << "\n";
    if (!load.ok()) {
        std::cerr << "hostd: configuration invalid (" << load.issues.size() << " error(s)); nothing started\n";
        return kExitConfig;
    }
    Supervisor::applyLogLevels(*load.config);

    StartupReport report;
    // Read again on every reload: a plugin's chdir (or the daemon's, to /) must not change which file.
    source.path = absolute(source.path);
    if (_daemon) {
        Daemon daemon = Daemon::detach();
        if (daemon.isInvoker()) return daemon.invokerExitCode();
        report = daemon.takeReport();
    }
    if (int code = prepareProcess(*load.config, report); code != kExitOk) return code;
    int code = supervise(load.config, source, report);
    _pidFile.reset();
    return code;
}

int HostApplication::prepareProcess(const ConfigSnapshot& config, StartupReport& report) {
    try {
        // The log first, so that with --daemon every later line (a held pidfile too) is kept.
        openLogOutput(config.host, hostdOwners(config.host));
        // The pidfile next: a second instance must be refused before it changes anything else.
        std::string pidfile = _pidfilePath.value_or(config.host.pidfile);
        if (!pidfile.empty()) _pidFile = PidFile::acquire(pidfile, hostdOwners(config.host));
        _controlSocket = openControlSocket(config);  // like the pidfile: where only root may write
        // Read as root: the token file may be root's own (0600), and must be root's or hostd's user's.
        if (!config.host.metricsListen.empty() && !config.host.metricsTokenFile.empty())
            _metricsToken = readTokenFile(config.host.metricsTokenFile, hostdOwners(config.host));
        applyLimits(config);  // while raising a hard limit is still allowed
        reserveDescriptorTable();  // while hostd has one thread (Rlimits.h)
        becomeSubreaper();         // after the last fork: what plugins fork stays hostd's to end
        openRunnerFile();  // isolated plugins' runner, reachable after the drop
        dropPrivileges(config);
    } catch (const StartupError& e) {
        HOSTD_LOG(Error, "", "cannot start", {"error", e.what()}, {"exit_code", std::to_string(e.exitCode())});
        // In the foreground, whoever started hostd watches stderr, not the log file.
        if (!_daemon && LogOutput::current().target != "stderr") std::cerr << "hostd: cannot start: " << e.what() << "\n";
        return report.failed(e.exitCode(), e.what());
    }
    logIdentity();
    HOSTD_LOG(Info, "", "resource limits", {"limits", describeLimits()});
    return kExitOk;
}

int HostApplication::supervise(hostd::ConfigPtr config, ConfigSource source, StartupReport& report) {
    ReadinessHookScope readiness(report);
    int code = kExitOk;
    bool abandoned = false;
    try {
        Supervisor supervisor(std::move(config), std::move(source), std::move(_controlSocket), std::exchange(_metricsToken, {}));
        // After a plugin's load hung this thread, the loop ends on another one (LoadWatch.h):
        // the same leaving as with abandoned calls, from there.
        supervisor.setExitAfterTakeover([this](int exitCode) {
            _pidFile.reset();
            std::cerr.flush();
            std::_Exit(exitCode);
        });
        code = supervisor.run();
        abandoned = supervisor.hasAbandonedCalls() || PluginThreads::running() != 0;
    } catch (const std::system_error& e) {
        HOSTD_LOG(Error, "", "fatal system error", {"error", e.what()});
        return report.failed(kExitOsError, std::string("fatal system error: ") + e.what());
    } catch (const StartupError& e) {  // e.g. an unusable metrics_token_file
        HOSTD_LOG(Error, "", "cannot start", {"error", e.what()}, {"exit_code", std::to_string(e.exitCode())});
        return report.failed(e.exitCode(), e.what());
    }
    if (abandoned) {
        // A plugin call is still running on an abandoned thread, or a plugin left a thread of
        // its own: running static destructors or unmapping its image under it would crash.
        // Leave without either.
        _pidFile.reset();
        std::cerr.flush();
        std::_Exit(code);
    }
    return code;
}

}  // namespace hostd
