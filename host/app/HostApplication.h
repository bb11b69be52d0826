#pragma once

#include "Config.h"
#include "ControlSocket.h"
#include "PidFile.h"

#include <Poco/Util/ServerApplication.h>

#include <optional>
#include <string>

namespace hostd {

class StartupReport;

/// The hostd daemon. main() reads like the lifecycle: load the configuration, detach (with
/// --daemon), lock the pidfile, set resource limits, drop privileges, load and start the
/// plugins, serve signals, drain, exit with a code that says how the drain went.
class HostApplication : public Poco::Util::ServerApplication {
public:
    HostApplication();

    int run(int argc, char** argv);
        /// Parses the command line and runs main(); returns the exit code (kExitUsage for a
        /// rejected command line). Replaces ServerApplication::run(argc, argv), which forks
        /// by itself when it sees "--daemon" (once, before any option is parsed, leaving a
        /// session leader) and writes --pidfile without a lock: hostd defines those options
        /// itself and detaches in main() (Daemon.h).

protected:
    void defineOptions(Poco::Util::OptionSet& options) override;
    void handleOption(const std::string& name, const std::string& value) override;
    int main(const std::vector<std::string>& args) override;

private:
    void printHelp();
    std::optional<int> answerWithoutStarting(const std::vector<std::string>& args);
        /// --help, --version and usage errors: the exit code, or nothing to go on.
    int prepareProcess(const ConfigSnapshot& config, StartupReport& report);
        /// Pidfile, resource limits, privileges: 0, or the exit code of the failure (reported).
    int supervise(hostd::ConfigPtr config, ConfigSource source, StartupReport& report);
        /// Runs the plugins until the drain is over; returns the exit code.

    std::string _configPath = "/etc/hostd.conf";
    bool _configExplicit = false;
    std::optional<std::string> _pluginDir;
    std::optional<std::string> _pidfilePath;  ///< --pidfile, made absolute.
    std::optional<PidFile> _pidFile;          ///< Held from start-up to the end of main().
    std::optional<ControlSocket> _controlSocket;  ///< Opened before the privilege drop; the Supervisor serves it.
    std::string _metricsToken;                    ///< Read before the privilege drop; the Supervisor's metrics use it.
    bool _daemon = false;
    bool _checkConfig = false;
    bool _verbose = false;
    bool _helpRequested = false;
    bool _versionRequested = false;
    bool _usageError = false;
};

}  // namespace hostd
