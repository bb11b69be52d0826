#include "Client.h"

#include "Config.h"
#include "Privileges.h"
#include "TrustedPath.h"
#include "UniqueFd.h"

#include <algorithm>
#include <cstdio>

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

namespace hostctl {

std::vector<uid_t> trustedServerUids(const std::string& socketPath, const std::string& configuredUser) {
    hostd::HostSettings host;
    host.user = configuredUser;
    hostd::TrustedOwners owners = hostd::hostdOwners(host);  // root, this user, hostd's configured user
    std::string dir = hostd::TrustedPath::split(socketPath).dir;
    struct stat st {};
    if (::lstat(dir.c_str(), &st) == 0) {
        try {
            hostd::TrustedPath::openDirectory(dir, hostd::TrustedOwners(owners).add(st.st_uid));
            owners.add(st.st_uid);
        } catch (const std::exception&) {
            // Others can write there (or it is gone): its owner vouches for nothing.
        }
    }
    return owners.uids();
}

std::string printable(std::string_view text, bool keepNewlines) {
    std::string out;
    out.reserve(text.size());
    auto escape = [&](unsigned code) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", code);
        out += buf;
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if ((c < 0x20 && !(keepNewlines && c == '\n')) || c == 0x7f) {
            escape(c);
        } else if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                   static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
            escape(static_cast<unsigned char>(text[++i]));  // a C1 control (CSI is U+009B)
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::string exchange(const std::string& socketPath, const std::string& requestLine, const std::vector<uid_t>& serverUids) {
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
    // Before a single byte goes out: in a directory others can write to, anyone may have bound
    // the name first, and root's hostctl must not tell them what it wants nor show what they say.
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        throw Failure(kUnavailable, std::string("cannot tell who serves ") + socketPath + ": " + std::strerror(errno));
    if (std::find(serverUids.begin(), serverUids.end(), cred.uid) == serverUids.end())
        throw Failure(kUnavailable, "refusing to talk to " + socketPath + ": it is served by uid " + std::to_string(cred.uid) +
                                        " (pid " + std::to_string(cred.pid) +
                                        "), which is neither root nor hostd's user; is another program impersonating hostd?");
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
