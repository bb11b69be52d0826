#include "LogSetup.h"

#include "Config.h"
#include "ExitCode.h"
#include "Log.h"
#include "StartupError.h"

#include <system_error>

namespace hostd {

LogDestination logDestination(const HostSettings& host) {
    LogDestination d;
    d.target = host.logTarget;
    if (auto format = parseLogFormat(host.logFormat))
        d.format = *format;
    else  // auto
        d.format = d.target == "stderr" && stderrIsJournal() ? LogFormat::Journal : LogFormat::Text;
    return d;
}

void openLogOutput(const HostSettings& host, const TrustedOwners& owners) {
    LogDestination d = logDestination(host);
    try {
        LogOutput::open(d, owners);
    } catch (const PathRefused& e) {
        throw StartupError(kExitConfig, "log_target " + d.target + ": refused: " + e.what());
    } catch (const std::system_error& e) {
        throw StartupError(kExitConfig, e.what());
    }
    HOSTD_LOG(Info, "", "log output", {"format", std::string(logFormatName(d.format))}, {"target", d.target});
}

void reconfigureLog(const HostSettings& host) {
    LogDestination next = logDestination(host), previous = LogOutput::current();
    if (next == previous) return;
    HOSTD_LOG(Notice, "", "log output changes", {"format", std::string(logFormatName(next.format))},
              {"target", next.target});
    try {
        LogOutput::open(next);
    } catch (const std::exception& e) {  // PathRefused, std::system_error
        HOSTD_LOG(Error, "", "cannot change the log output; keeping the previous one", {"error", e.what()});
        return;
    }
    HOSTD_LOG(Notice, "", "log output changed", {"format", std::string(logFormatName(next.format))},
              {"target", next.target}, {"previous_target", previous.target});
}

}  // namespace hostd
