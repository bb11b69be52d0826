#include "Client.h"

#include "UniqueFd.h"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

namespace hostctl {

std::string exchange(const std::string& socketPath, const std::string& requestLine) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socketPath.size() >= sizeof addr.sun_path) throw Failure(kUsage, "socket path too long: " + socketPath);
    std::memcpy(addr.sun_path, socketPath.data(), socketPath.size());
    hostd::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw Failure(kUnavailable, std::string("socket: ") + std::strerror(errno));
    // A reply never takes long (commands are accepted, not awaited), but a wedged daemon must
    // not hang a script forever.
    timeval timeout{60, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int e = errno;
        if (e == ENOENT) throw Failure(kUnavailable, "hostd is not running (no socket at " + socketPath + ")");
        if (e == ECONNREFUSED) throw Failure(kUnavailable, "hostd is not running (nothing listens on " + socketPath + ")");
        if (e == EACCES || e == EPERM) throw Failure(kNoPermission, "permission denied: cannot connect to " + socketPath);
        throw Failure(kUnavailable, "cannot connect to " + socketPath + ": " + std::strerror(e));
    }
    std::string out = requestLine + "\n";
    // hostd refuses a peer (permission denied, too many clients) by answering at accept and
    // closing at once, so the send may find the connection closed: the reply is still there
    // to read.
    std::string sendError;
    if (::send(fd.get(), out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size()))
        sendError = std::string("cannot send the request: ") + std::strerror(errno);
    std::string reply;
    char buf[65536];
    for (;;) {
        auto nl = reply.find('\n');
        if (nl != std::string::npos) return reply.substr(0, nl);
        ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) throw Failure(kUnavailable, "no reply from hostd within 60 s");
        if (n <= 0)
            throw Failure(kUnavailable, sendError.empty() ? "hostd closed the connection without replying" : sendError);
        reply.append(buf, static_cast<std::size_t>(n));
    }
}

}  // namespace hostctl
