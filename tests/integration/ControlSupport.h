#pragma once
// Helpers for the hostctl tests: running the real hostctl binary, and raw socket clients.

#include "Harness.h"

#include <Poco/JSON/Object.h>

#include <string>
#include <vector>

namespace hostd::test {

/// What a command printed and how it exited.
struct CommandResult {
    int code = -1;
    std::string out, err;
};

/// The hostd fixture, plus hostctl.
class ControlTest : public HostdTest {
protected:
    CommandResult hostctl(const std::vector<std::string>& args, const std::vector<std::string>& asUser = {}) const;
        /// Runs HOSTD_HOSTCTL_PATH --socket=controlSocket() ARGS; asUser, if given, are setpriv
        /// options (--reuid=...) to run it as another user.
    CommandResult hostctlRaw(const std::vector<std::string>& args) const;
        /// The same without --socket.
    Poco::JSON::Object::Ptr json(const std::vector<std::string>& args) const;
        /// hostctl --json ARGS, which must succeed, parsed.
    HostdProcess& startReady(int running);
        /// start() and wait for "ready running=N".
};

int connectTo(const std::string& path);
    /// A connected unix stream socket, or -1.

std::string readLine(int fd, std::chrono::milliseconds timeout = 10s);
    /// One line (without newline) from fd, or what came before EOF or the timeout.

bool closedByPeer(int fd, std::chrono::milliseconds timeout = 10s);
    /// True if fd reads EOF (or a reset) within timeout, after any pending data.

}  // namespace hostd::test
