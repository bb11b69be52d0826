#pragma once

#include "Config.h"
#include "ControlProtocol.h"
#include "ControlSocket.h"
#include "EventLoop.h"

#include <map>
#include <optional>
#include <string>

namespace hostd {

/// Serves hostctl on the control socket from the Supervisor's event loop: no thread, no timer.
///
/// Every connection is authorised once, on accept, by its peer credentials: root, hostd's own
/// user, and members of `control_group` (as primary or supplementary group). Supplementary
/// groups come from SO_PEERGROUPS, which the kernel records at connect() like SO_PEERCRED:
/// unlike /proc/PID/status it cannot be raced by a client that exits and leaves its pid to
/// another process, and unlike getgrouplist() it is what the process really holds (setpriv
/// --clear-groups, newgrp). Anyone else gets a "permission denied" reply, an audit log line
/// with their pid, uid and gid, and a closed connection.
///
/// Bounds: a request line longer than kControlMaxLine gets an error and a closed connection;
/// beyond kMaxClients connections, new ones get an error and are closed at once. A client
/// that never reads its replies is closed when its socket buffer is full (writes never
/// block). Idle connections are not timed out: they cost a descriptor each and nothing
/// else, and their number is bounded.
class ControlServer {
public:
    static constexpr std::size_t kMaxClients = 64;

    ControlServer(EventLoop& loop, ControlSocket socket, const ControlCommands& commands);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    void setGroup(std::optional<gid_t> group) { _group = group; }
        /// The control_group's id, or none.

    const std::string& path() const noexcept { return _socket.path(); }

private:
    struct Client {
        UniqueFd fd;
        ControlPeer peer;
        std::string buffer;
    };

    void onAccept();
    bool authorised(int fd, const ControlPeer& peer) const;
    void onReadable(int fd);
    bool serveLines(Client& client);
        /// Answers every complete line in the buffer; false if the connection must close.
    bool refuseLongLine(const Client& client);
        /// Logs and answers a request over kControlMaxLine; always false (close).
    void close(int fd);

    EventLoop& _loop;
    ControlSocket _socket;
    const ControlCommands& _commands;
    std::optional<gid_t> _group;
    std::map<int, Client> _clients;
};

std::optional<ControlSocket> openControlSocket(const ConfigSnapshot& config);
    /// The socket of control_socket, its file owned by control_group if set; nothing if
    /// control_socket is empty or its default directory is missing. Runs before privileges
    /// are dropped, like the pidfile: /run/hostd may be writable by root only. Throws
    /// StartupError (ControlSocket::open; kExitConfig if control_group does not exist).

std::optional<gid_t> resolveControlGroup(const std::string& name);
    /// The group's id (a name through getgrnam_r, or a number), or nothing if unknown.

}  // namespace hostd
