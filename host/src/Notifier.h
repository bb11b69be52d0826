#pragma once

#include "UniqueFd.h"

#include <string>
#include <string_view>

namespace hostd {

/// sd_notify without libsystemd (DESIGN.md section 6): datagrams to $NOTIFY_SOCKET (a path, or
/// "@name" for an abstract socket). Does nothing when NOTIFY_SOCKET is unset.
class Notifier {
public:
    Notifier();
        /// Reads NOTIFY_SOCKET once, then unsets it so plugins' child processes do not inherit it.

    bool enabled() const noexcept { return !_address.empty(); }

    void send(std::string_view state) const;
        /// Sends one datagram, e.g. "READY=1\nSTATUS=running 3 plugins". Errors are ignored:
        /// the manager's absence must never stop the host.

    void ready(std::string_view status) const;
    void reloading() const;
        /// RELOADING=1 with MONOTONIC_USEC.
    void stopping(std::string_view status) const;
    void status(std::string_view status) const;

private:
    std::string _address;
    UniqueFd _fd;
};

}  // namespace hostd
