#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hostd {

/// A numeric TCP listen address from the configuration: "127.0.0.1:9464", "[::1]:9464"
/// ("localhost" means 127.0.0.1; other host names are refused so that what is bound does not
/// depend on name resolution at start).
struct ListenAddress {
    std::string host;     ///< Numeric, without brackets.
    std::uint16_t port = 0;  ///< 0: an ephemeral port chosen by the kernel.
    bool ipv6 = false;

    static std::optional<ListenAddress> parse(std::string_view text, std::string& error);
        /// The address, or nothing with error saying what is wrong.

    bool loopback() const;
        /// True for 127.0.0.0/8 and ::1 (and ::ffff:127.x.y.z).

    std::string str() const;
        /// "HOST:PORT", or "[HOST]:PORT" for IPv6.
};

}  // namespace hostd
