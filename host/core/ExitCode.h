#pragma once

namespace hostd {

/// hostd's exit codes; documented in the README ("Exit codes").
enum ExitCode : int {
    kExitOk = 0,            ///< Every plugin stopped cleanly.
    kExitStopFailed = 3,    ///< The drain finished, but at least one plugin's stop reported an error.
    kExitStopTimeout = 4,   ///< A stop overran its deadline, or the drain budget ran out.
    kExitForced = 5,        ///< A second SIGTERM/SIGINT/SIGQUIT during the drain: exited at once.
    kExitPluginExit = 6,    ///< A plugin called exit(): no drain; named in the log, counted like a crash.
    kExitPluginBrokeHost = 7,  ///< A plugin closed or replaced one of hostd's descriptors: likewise.
    kExitUsage = 64,        ///< EX_USAGE: bad command line.
    kExitSoftware = 70,     ///< EX_SOFTWARE: internal error.
    kExitOsError = 71,      ///< EX_OSERR: a system call the host cannot do without failed.
    kExitConfig = 78,       ///< EX_CONFIG: invalid configuration at start.
};

}  // namespace hostd
