#pragma once

#include "LogOutput.h"
#include "TrustedPath.h"

namespace hostd {

struct HostSettings;

// The log as [hostd] log_format and log_target configure it: LogOutput (core) writes lines,
// this applies the configuration to it at start and after a reload.

LogDestination logDestination(const HostSettings& host);
    /// The configured destination; log_format = auto is journal when the target is stderr
    /// and stderr is the journal's stream, else text.

void openLogOutput(const HostSettings& host, const TrustedOwners& owners);
    /// At start-up, before any plugin: switches to the configured destination, a file trusted
    /// for owners (hostd's user too: it reopens the file after the privilege drop). Throws
    /// StartupError (kExitConfig) naming the file and the reason.

void reconfigureLog(const HostSettings& host);
    /// After a configuration reload: switches to a changed destination, saying so in the
    /// old and the new output; if the new one cannot be opened, logs why and keeps the old.

}  // namespace hostd
