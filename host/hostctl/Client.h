#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

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

std::vector<uid_t> trustedServerUids(const std::string& socketPath, const std::string& configuredUser);
    /// Who may serve the socket: root, hostctl's own user, the configured `user` of hostd, and
    /// the owner of the socket's directory if that directory passes hostd's trust rules (owned
    /// by root or that user, nobody else can write to it or above it): only they could have
    /// made the socket there. A socket in a directory others can write to may be anyone's.

std::string exchange(const std::string& socketPath, const std::string& requestLine, const std::vector<uid_t>& serverUids);
    /// Connects, checks that the peer's uid (SO_PEERCRED) is one of serverUids before sending
    /// anything, sends one request line, and returns hostd's one reply line (without the
    /// newline). Throws Failure.

std::string printable(std::string_view text, bool keepNewlines);
    /// text with control characters (C0 but newlines if kept, DEL, and C1 in UTF-8) written as
    /// \u00XX: nothing hostd or a plugin put in a reply can drive the terminal.

}  // namespace hostctl
