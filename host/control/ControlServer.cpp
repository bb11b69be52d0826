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
    for (const auto& [fd, c] : _clients)
        if (c.reading) _loop.remove(fd);
    _loop.remove(_socket.fd());
}

void ControlServer::onAccept() {
    // Bounded: under a flood of connections the other fds of the loop are served in between.
    for (std::size_t i = 0; i < kAcceptsPerTurn; ++i) {
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
            refuse(std::move(fd), peer, "permission denied");
            continue;
        }
        if (auto why = admissionRefusal(peer)) {
            refuse(std::move(fd), peer, *why);
            continue;
        }
        int raw = fd.get();
        _loop.add(raw, [this, raw] { onReadable(raw); });
        _clients.emplace(raw, Client{std::move(fd), peer, {}, Clock::now()});
        if (peer.uid != 0) ++_perUser[peer.uid];
    }
}

bool ControlServer::authorised(int fd, const ControlPeer& peer) const {
    if (peer.uid == 0 || peer.uid == ::geteuid()) return true;
    if (!_group) return false;
    if (peer.gid == *_group) return true;
    auto groups = peerGroups(fd);
    return std::find(groups.begin(), groups.end(), *_group) != groups.end();
}

std::optional<std::string> ControlServer::admissionRefusal(const ControlPeer& peer) const {
    if (_clients.size() >= kMaxClients) return "too many clients (limit " + std::to_string(kMaxClients) + ")";
    if (peer.uid == 0) return std::nullopt;
    if (_clients.size() >= kMaxClients - kRootOnlySlots)
        return "too many clients (the last " + std::to_string(kRootOnlySlots) + " of " + std::to_string(kMaxClients) +
               " are for root)";
    auto it = _perUser.find(peer.uid);
    if (it != _perUser.end() && it->second >= kMaxPerUser)
        return "too many clients of uid " + std::to_string(peer.uid) + " (limit " + std::to_string(kMaxPerUser) + ")";
    return std::nullopt;
}

void ControlServer::refuse(UniqueFd fd, const ControlPeer& peer, const std::string& why) {
    auto now = Clock::now();
    if (_refusals.allow(now))
        HOSTD_AUDIT("", "control connection refused: " + why, {"peer_pid", std::to_string(peer.pid)},
                    {"peer_uid", std::to_string(peer.uid)}, {"peer_gid", std::to_string(peer.gid)});
    std::string reply = controlErrorLine(why);
    if (peer.uid == 0 || _tarpit.size() >= kMaxTarpitted) {
        sendAll(fd.get(), reply);
        return;
    }
    // Answered a second later: a peer that reconnects as soon as it is refused would otherwise
    // keep the loop (and a core of the machine) busy refusing it.
    _tarpit.push_back({now + kTarpit, std::move(fd), std::move(reply)});
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
    if (hasCompleteLine(client)) {
        wait(client);
        serveWaiting();
    } else if (client.buffer.size() > kControlMaxLine) {
        refuseLongLine(client);
        close(fd);
    }
}

bool ControlServer::hasCompleteLine(const Client& client) const { return client.buffer.find('\n') != std::string::npos; }

void ControlServer::wait(Client& client) {
    // Not read again until what it sent is served: its socket buffer, not hostd, holds the rest.
    if (client.reading) {
        _loop.remove(client.fd.get());
        client.reading = false;
        _waiting.push_back(client.fd.get());
    }
}

namespace {

/// What a uid's allowance holds at now, refilled since it was last updated.
double refilled(double requests, Clock::time_point updated, Clock::time_point now) {
    double seconds = std::chrono::duration<double>(now - updated).count();
    return std::min(ControlServer::kRequestsPerSecond, requests + seconds * ControlServer::kRequestsPerSecond);
}

}  // namespace

bool ControlServer::mayServe(const Client& client, Clock::time_point now) const {
    if (client.peer.uid == 0) return true;
    auto it = _allowances.find(client.peer.uid);
    return it == _allowances.end() || refilled(it->second.requests, it->second.updated, now) >= 1.0;
}

Clock::time_point ControlServer::nextAllowed(uid_t uid) const {
    auto it = _allowances.find(uid);
    if (uid == 0 || it == _allowances.end()) return Clock::now();
    double missing = std::max(0.0, 1.0 - it->second.requests);
    return it->second.updated + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(missing / kRequestsPerSecond));
}

void ControlServer::serveWaiting() {
    auto now = Clock::now();
    while (_budget > 0 && !_waiting.empty()) {
        // Root's requests first: a flood of other peers never delays root's hostctl by more
        // than what is being served right now. Then the others in turn, within their rate.
        auto next = std::find_if(_waiting.begin(), _waiting.end(), [&](int fd) { return _clients.at(fd).peer.uid == 0; });
        if (next == _waiting.end())
            next = std::find_if(_waiting.begin(), _waiting.end(), [&](int fd) { return mayServe(_clients.at(fd), now); });
        if (next == _waiting.end()) return;  // every one waiting is over its rate: nextDeadline() says when
        int fd = *next;
        _waiting.erase(next);
        --_budget;
        Client& client = _clients.at(fd);
        if (client.peer.uid != 0) {
            auto [it, added] = _allowances.try_emplace(client.peer.uid, Allowance{kRequestsPerSecond, now});
            it->second.requests = refilled(it->second.requests, it->second.updated, now) - 1.0;
            it->second.updated = now;
        }
        if (!serveOne(client)) {
            close(fd);
        } else if (hasCompleteLine(client)) {
            _waiting.push_back(fd);  // one request per turn: the others' come first
        } else {
            _loop.add(fd, [this, fd] { onReadable(fd); });
            client.reading = true;
        }
    }
}

bool ControlServer::serveOne(Client& client) {
    std::size_t nl = client.buffer.find('\n');
    std::string_view line(client.buffer.data(), nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > kControlMaxLine) return refuseLongLine(client);
    client.lastActive = Clock::now();
    // A client that does not read its replies is dropped rather than waited for.
    if (!sendAll(client.fd.get(), _commands.dispatch(line, client.peer))) return false;
    client.buffer.erase(0, nl + 1);
    return hasCompleteLine(client) || client.buffer.size() <= kControlMaxLine || refuseLongLine(client);
}

bool ControlServer::refuseLongLine(const Client& client) {
    if (_refusals.allow(Clock::now()))
        HOSTD_AUDIT("", "control connection closed: request line too long", {"limit_bytes", std::to_string(kControlMaxLine)},
                    {"peer_pid", std::to_string(client.peer.pid)}, {"peer_uid", std::to_string(client.peer.uid)});
    sendAll(client.fd.get(), controlErrorLine("request too long (limit " + std::to_string(kControlMaxLine) + " bytes)"));
    return false;
}

std::optional<Clock::time_point> ControlServer::nextDeadline() const {
    std::optional<Clock::time_point> next = _refusals.due();
    if (!_tarpit.empty() && (!next || _tarpit.front().until < *next)) next = _tarpit.front().until;
    for (int fd : _waiting) {
        Clock::time_point allowed = nextAllowed(_clients.at(fd).peer.uid);
        if (!next || allowed < *next) next = allowed;
    }
    for (const auto& [_, c] : _clients)
        if (c.reading && (!next || c.lastActive + kIdleTimeout < *next)) next = c.lastActive + kIdleTimeout;
    return next;
}

void ControlServer::onTurn(Clock::time_point now) {
    while (!_tarpit.empty() && _tarpit.front().until <= now) {
        sendAll(_tarpit.front().fd.get(), _tarpit.front().reply);
        _tarpit.pop_front();  // closes it
    }
    serveWaiting();
    _budget = kRequestsPerTurn;
    std::vector<int> idle;
    for (const auto& [fd, c] : _clients)
        if (c.reading && now >= c.lastActive + kIdleTimeout) idle.push_back(fd);
    for (int fd : idle) {
        sendAll(fd, controlErrorLine("idle for too long; closed"));
        close(fd);
    }
    std::erase_if(_allowances, [&](const auto& a) {
        return refilled(a.second.requests, a.second.updated, now) >= kRequestsPerSecond;
    });
    if (int n = _refusals.takeHeldBack(now); n > 0)
        HOSTD_AUDIT("", "control connections refused meanwhile (not each logged)", {"count", std::to_string(n)});
}

void ControlServer::close(int fd) {
    auto it = _clients.find(fd);
    if (it == _clients.end()) return;
    if (it->second.reading) _loop.remove(fd);
    if (uid_t uid = it->second.peer.uid; uid != 0 && --_perUser[uid] == 0) _perUser.erase(uid);
    std::erase(_waiting, fd);
    _clients.erase(it);  // closes it
}

}  // namespace hostd
