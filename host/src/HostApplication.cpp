#include "HostApplication.h"

#include "Config.h"
#include "ConfigCheck.h"
#include "ExitCode.h"
#include "Log.h"
#include "Supervisor.h"

#include <hostd/plugin.h>

#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>

#include <iostream>

#ifndef HOSTD_VERSION
#define HOSTD_VERSION "0.0.0"
#endif

namespace hostd {

using Poco::Util::Option;
using Poco::Util::OptionCallback;

HostApplication::HostApplication() { setUnixOptions(true); }

void HostApplication::defineOptions(Poco::Util::OptionSet& options) {
    ServerApplication::defineOptions(options);
    options.addOption(Option("config", "c", "configuration file (default /etc/hostd.conf)")
                          .required(false).repeatable(false).argument("FILE"));
    options.addOption(Option("plugin-dir", "p", "plugin directory, overrides plugin_dir of the configuration")
                          .required(false).repeatable(false).argument("DIR"));
    options.addOption(Option("check-config", "t", "check the configuration, print every error, and exit (0 or 78)")
                          .required(false).repeatable(false));
    options.addOption(Option("verbose", "v", "with --check-config: print every value and where it came from")
                          .required(false).repeatable(false));
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
                   "5 second signal during the drain; 64 bad usage; 78 configuration error.");
    help.format(std::cout);
}

int HostApplication::main(const std::vector<std::string>& args) {
    _mainEntered = true;
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

    ConfigSource source{_configPath, _configExplicit, _pluginDir};
    if (_checkConfig) return checkConfig(source, _verbose, std::cout);

    ConfigLoad load = loadConfig(_configPath, _configExplicit);
    for (const auto& issue : load.issues) std::cerr << issue.str() << "\n";
    if (!load.ok()) {
        std::cerr << "hostd: configuration invalid (" << load.issues.size() << " error(s)); nothing started\n";
        return kExitConfig;
    }
    if (auto level = parseLevel(load.config->host.logLevel)) Log::setLevel(*level);

    int code = kExitOk;
    bool abandoned = false;
    try {
        Supervisor supervisor(load.config, source);
        code = supervisor.run();
        abandoned = supervisor.hasAbandonedCalls();
    } catch (const std::system_error& e) {
        HOSTD_LOG(Error, "", "fatal system error", {"error", e.what()});
        return kExitOsError;
    }
    if (abandoned) {
        // A plugin call is still running on an abandoned thread: running static destructors
        // or unmapping its image under it would crash. Leave without either.
        std::cerr.flush();
        std::_Exit(code);
    }
    return code;
}

}  // namespace hostd
