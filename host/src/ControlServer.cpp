#include "ControlServer.h"

#include "ExitCode.h"
#include "Log.h"
#include "Privileges.h"
#include "StartupError.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <grp.h>
#include <sys/socket.h>
#include <vector>

namespace hostd {

namespace {

/// Sends without blocking and without SIGPIPE; false unless all of it went out.
bool sendAll(int fd, const std::string& data) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    return n == static_cast<ssize_t>(data.size());
}

std::vector<gid_t> peerGroups(int fd) {
    std::vector<gid_t> groups(64);
    for (int attempt = 0; attempt < 2; ++attempt) {
        socklen_t len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) == 0) {
            groups.resize(len / sizeof(gid_t));
            return groups;
        }
        if (errno != ERANGE) break;
        groups.resize(len / sizeof(gid_t) + 1);  // len now says how much is needed
    }
    return {};
}

}  // namespace

std::optional<gid_t> resolveControlGroup(const std::string& name) {
    gid_t id = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
    if (!name.empty() && ec == std::errc() && end == name.data() + name.size()) return id;
    std::vector<char> buf(16384);
    group entry{}, *found = nullptr;
    if (::getgrnam_r(name.c_str(), &entry, buf.data(), buf.size(), &found) == 0 && found != nullptr) return entry.gr_gid;
    return std::nullopt;
}

std::optional<ControlSocket> openControlSocket(const ConfigSnapshot& config) {
    const HostSettings& h = config.host;
    if (h.controlSocket.empty()) {
        HOSTD_LOG(Info, "", "control socket disabled (control_socket is empty)");
        return std::nullopt;
    }
    std::optional<gid_t> group;
    if (!h.controlGroup.empty() && !(group = resolveControlGroup(h.controlGroup))) {
        auto o = config.hostOrigins.find("control_group");
        throw StartupError(kExitConfig, (o == config.hostOrigins.end() ? "" : o->second.str() + ": ") + "control_group '" +
                                            h.controlGroup + "' does not exist");
    }
    return ControlSocket::open(h.controlSocket, config.hostOrigins.count("control_socket") > 0, hostdOwners(h), group);
}

ControlServer::ControlServer(EventLoop& loop, ControlSocket socket, const ControlCommands& commands)
    : _loop(loop), _socket(std::move(socket)), _commands(commands) {
    _loop.add(_socket.fd(), [this] { onAccept(); });
}

ControlServer::~ControlServer() {
    for (const auto& [fd, _] : _clients) _loop.remove(fd);
    _loop.remove(_socket.fd());
}

void ControlServer::onAccept() {
    for (;;) {
        UniqueFd fd(::accept4(_socket.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                HOSTD_LOG(Warning, "", "control socket: accept failed", {"error", std::strerror(errno)});
            return;  // EMFILE too: the pending connection waits for a descriptor to free up
        }
        ucred cred{};
        socklen_t len = sizeof cred;
        if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) continue;
        ControlPeer peer{cred.pid, cred.uid, cred.gid};
        if (!authorised(fd.get(), peer)) {
            HOSTD_LOG(Warning, "", "control connection refused: permission denied", {"peer_pid", std::to_string(peer.pid)},
                      {"peer_uid", std::to_string(peer.uid)}, {"peer_gid", std::to_string(peer.gid)});
            sendAll(fd.get(), controlErrorLine("permission denied"));
            continue;
        }
        if (_clients.size() >= kMaxClients) {
            HOSTD_LOG(Warning, "", "control connection refused: too many clients", {"limit", std::to_string(kMaxClients)},
                      {"peer_pid", std::to_string(peer.pid)}, {"peer_uid", std::to_string(peer.uid)});
            sendAll(fd.get(), controlErrorLine("too many clients (limit " + std::to_string(kMaxClients) + ")"));
            continue;
        }
        int raw = fd.get();
        _loop.add(raw, [this, raw] { onReadable(raw); });
        _clients.emplace(raw, Client{std::move(fd), peer, {}});
    }
}

bool ControlServer::authorised(int fd, const ControlPeer& peer) const {
    if (peer.uid == 0 || peer.uid == ::geteuid()) return true;
    if (!_group) return false;
    if (peer.gid == *_group) return true;
    auto groups = peerGroups(fd);
    return std::find(groups.begin(), groups.end(), *_group) != groups.end();
}

void ControlServer::onReadable(int fd) {
    auto it = _clients.find(fd);
    if (it == _clients.end()) return;
    Client& client = it->second;
    char buf[16384];
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {  // end of file (answered lines were already served) or an error
        close(fd);
        return;
    }
    client.buffer.append(buf, static_cast<std::size_t>(n));
    if (!serveLines(client)) close(fd);
}

bool ControlServer::serveLines(Client& client) {
    std::size_t start = 0;
    for (std::size_t nl; (nl = client.buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
        std::string_view line(client.buffer.data() + start, nl - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.size() > kControlMaxLine) return refuseLongLine(client);
        // A client that does not read its replies is dropped rather than waited for.
        if (!sendAll(client.fd.get(), _commands.dispatch(line, client.peer))) return false;
    }
    client.buffer.erase(0, start);
    return client.buffer.size() <= kControlMaxLine || refuseLongLine(client);
}

bool ControlServer::refuseLongLine(const Client& client) {
    HOSTD_LOG(Warning, "", "control connection closed: request line too long", {"limit_bytes", std::to_string(kControlMaxLine)},
              {"peer_pid", std::to_string(client.peer.pid)}, {"peer_uid", std::to_string(client.peer.uid)});
    sendAll(client.fd.get(), controlErrorLine("request too long (limit " + std::to_string(kControlMaxLine) + " bytes)"));
    return false;
}

void ControlServer::close(int fd) {
    _loop.remove(fd);
    _clients.erase(fd);  // closes it
}

}  // namespace hostd
