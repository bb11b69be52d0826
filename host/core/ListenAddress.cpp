#include "ListenAddress.h"

#include <arpa/inet.h>
#include <charconv>
#include <cstring>
#include <netinet/in.h>

namespace hostd {

std::optional<ListenAddress> ListenAddress::parse(std::string_view text, std::string& error) {
    ListenAddress a;
    std::string_view host, port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            error = "expected [IPV6]:PORT";
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        a.ipv6 = true;
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            error = "expected HOST:PORT";
            return std::nullopt;
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
        error = "port '" + std::string(port) + "' is not a number in [0, 65535]";
        return std::nullopt;
    }
    a.port = static_cast<std::uint16_t>(value);
    a.host = host == "localhost" && !a.ipv6 ? "127.0.0.1" : std::string(host);
    unsigned char buf[sizeof(in6_addr)];
    if (::inet_pton(a.ipv6 ? AF_INET6 : AF_INET, a.host.c_str(), buf) != 1) {
        error = "'" + std::string(host) + "' is not a numeric " + (a.ipv6 ? "IPv6" : "IPv4") +
                " address (or localhost; IPv6 in brackets)";
        return std::nullopt;
    }
    return a;
}

bool ListenAddress::loopback() const {
    if (!ipv6) {
        in_addr v4{};
        return ::inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
    }
    in6_addr v6{};
    if (::inet_pton(AF_INET6, host.c_str(), &v6) != 1) return false;
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

std::string ListenAddress::str() const {
    return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace hostd
