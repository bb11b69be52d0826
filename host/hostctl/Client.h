#pragma once

#include <stdexcept>
#include <string>

namespace hostctl {

/// hostctl's exit codes (sysexits.h where one fits).
enum Exit : int {
    kOk = 0,
    kRefused = 1,         ///< hostd answered with an error (unknown plugin, wrong state, ...).
    kUsage = 64,          ///< EX_USAGE
    kUnavailable = 69,    ///< EX_UNAVAILABLE: hostd is not running, or the connection failed.
    kNoPermission = 77,   ///< EX_NOPERM: the socket or hostd refused this user.
    kConfig = 78,         ///< EX_CONFIG: the configuration naming the socket is unusable.
};

/// A failure with the message for stderr and the exit code.
class Failure : public std::runtime_error {
public:
    Failure(int code, const std::string& message) : std::runtime_error(message), code(code) {}
    int code;
};

std::string exchange(const std::string& socketPath, const std::string& requestLine);
    /// Connects, sends one request line, and returns hostd's one reply line (without the
    /// newline). Throws Failure.

}  // namespace hostctl
