#include "Notifier.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <sys/socket.h>
#include <sys/un.h>

namespace hostd {

Notifier::Notifier() {
    const char* env = std::getenv("NOTIFY_SOCKET");
    if (env == nullptr || (env[0] != '/' && env[0] != '@') || std::strlen(env) >= sizeof(sockaddr_un::sun_path)) return;
    _address = env;
    ::unsetenv("NOTIFY_SOCKET");
    _fd.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
}

void Notifier::send(std::string_view state) const {
    if (!enabled() || !_fd) return;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, _address.data(), _address.size());
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + _address.size());
    if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
    ::sendto(_fd.get(), state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), len);
}

void Notifier::ready(std::string_view status) const { send("READY=1\nSTATUS=" + std::string(status)); }

void Notifier::reloading() const {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long usec = static_cast<long long>(ts.tv_sec) * 1000000LL + ts.tv_nsec / 1000;
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void Notifier::stopping(std::string_view status) const { send("STOPPING=1\nSTATUS=" + std::string(status)); }

void Notifier::status(std::string_view status) const { send("STATUS=" + std::string(status)); }

}  // namespace hostd
