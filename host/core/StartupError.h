#pragma once

#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hostd {

/// Why the daemon cannot start, with the exit code that says so (ExitCode.h). Thrown by the
/// start-up steps that run before any plugin (pidfile, resource limits, privileges);
/// HostApplication reports it on stderr, or with --daemon through the pipe to the invoking
/// process (Daemon.h).
class StartupError : public std::runtime_error {
public:
    StartupError(int exitCode, const std::string& message) : std::runtime_error(message), _exitCode(exitCode) {}

    int exitCode() const noexcept { return _exitCode; }

private:
    int _exitCode;
};

inline std::string systemErrorText(std::string_view what, int error) {
    return std::string(what) + ": " + std::strerror(error);
}
    /// "what: <strerror(error)>", the shape of every system-call failure in a start-up message.

}  // namespace hostd
