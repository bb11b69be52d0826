#pragma once

#include "UniqueFd.h"

#include <optional>
#include <string_view>

namespace hostd {

/// Tells how the start went, once: a failure (exit code and message) or readiness. With
/// --daemon both go through the pipe to the invoking process, which prints the failure and
/// exits with its code, or exits 0 at readiness. In the foreground there is no one to tell.
class StartupReport {
public:
    StartupReport() = default;
        /// The foreground report.
    explicit StartupReport(UniqueFd pipe) : _pipe(std::move(pipe)) {}
        /// The daemon's report, on the write end of the pipe from Daemon::detach().

    int failed(int exitCode, std::string_view message);
        /// With --daemon, tells the invoking process that hostd cannot start (it prints the
        /// message and exits with exitCode). Returns exitCode, for `return report.failed(...)`.
        /// The caller logs the failure: in the foreground the log is on stderr. Does nothing
        /// after ready().

    void ready();
        /// Releases the invoking process with exit code 0. Further reports are ignored.

private:
    UniqueFd _pipe;
    bool _done = false;
};

/// --daemon, the classic way (DESIGN.md section 2): fork; setsid in the child; fork again, so
/// the daemon is not a session leader and can never acquire a controlling terminal; then in
/// the daemon umask 027, chdir /, stdin/stdout/stderr on /dev/null, and every inherited
/// descriptor above 2 closed. The invoking process waits on a pipe for the daemon's
/// StartupReport.
///
/// Must run before any thread exists: only the calling thread survives fork.
class Daemon {
public:
    static Daemon detach();
        /// Returns twice, as fork() does: in the invoking process once the daemon reported
        /// (isInvoker() is true), and in the daemon. Throws std::system_error if the pipe or
        /// the first fork fails; later failures reach the invoker through the pipe.

    bool isInvoker() const noexcept { return _invokerExitCode.has_value(); }

    int invokerExitCode() const { return *_invokerExitCode; }
        /// In the invoking process: 0 if the daemon is ready, else the daemon's exit code
        /// (its message is printed on stderr), or kExitSoftware if it died without a report.

    StartupReport takeReport() { return std::move(_report); }
        /// In the daemon: the report to the invoking process.

private:
    Daemon() = default;

    std::optional<int> _invokerExitCode;
    StartupReport _report;
};

}  // namespace hostd
