#pragma once

#include "Config.h"
#include "ControlProtocol.h"
#include "ControlSocket.h"
#include "EventLoop.h"
#include "RateLimit.h"

#include <deque>
#include <map>
#include <optional>
#include <string>

namespace hostd {

/// Serves hostctl on the control socket from the Supervisor's event loop: no thread of its own.
///
/// Every connection is authorised once, on accept, by its peer credentials: root, hostd's own
/// user, and members of `control_group` (as primary or supplementary group). Supplementary
/// groups come from SO_PEERGROUPS, which the kernel records at connect() like SO_PEERCRED:
/// unlike /proc/PID/status it cannot be raced by a client that exits and leaves its pid to
/// another process, and unlike getgrouplist() it is what the process really holds (setpriv
/// --clear-groups, newgrp). Anyone else gets a "permission denied" reply, an audit line with
/// their pid, uid and gid, and a closed connection.
///
/// An authorised peer is still not trusted not to starve the others (issue: security of a
/// root-run hostd):
/// - at most kMaxClients connections, of which the last kRootOnlySlots only root may take, and
///   at most kMaxPerUser for any other uid (hostd's own user included: plugins run as it);
/// - a connection without a complete request for kIdleTimeout is closed;
/// - refusals are logged at most once a second, then as a count; a refused peer other than
///   root gets its answer (and its closed connection) kTarpit later, so that reconnecting at
///   once costs it a second instead of costing the loop a refusal each time (at most
///   kMaxTarpitted wait so, the others are answered at once);
/// - each turn of the loop serves at most kRequestsPerTurn requests, root's first, then the
///   others in turn, one request per connection; a connection with requests waiting is not
///   read until they are served. So a flood of requests delays each turn by a bounded amount,
///   and plugin events, signals and the watchdog are served between turns;
/// - any uid but root is served at most kRequestsPerSecond requests a second (after a burst of
///   as many): the rest wait, unread, for their turn. A `top` costs the loop a fraction of a
///   millisecond; without this, one user's flood of them would take most of its time.
/// A request line longer than kControlMaxLine gets an error and a closed connection. A client
/// that never reads its replies is closed when its socket buffer is full (writes never block).
class ControlServer {
public:
    static constexpr std::size_t kMaxClients = 64;
    static constexpr std::size_t kRootOnlySlots = 8;
    static constexpr std::size_t kMaxPerUser = 8;
    static constexpr std::size_t kAcceptsPerTurn = 16;
    static constexpr std::size_t kRequestsPerTurn = 8;
    static constexpr Clock::duration kIdleTimeout = std::chrono::seconds(5);
    static constexpr double kRequestsPerSecond = 20;
    static constexpr Clock::duration kTarpit = std::chrono::seconds(1);
    static constexpr std::size_t kMaxTarpitted = 256;

    ControlServer(EventLoop& loop, ControlSocket socket, const ControlCommands& commands);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    void setGroup(std::optional<gid_t> group) { _group = group; }
        /// The control_group's id, or none.

    const std::string& path() const noexcept { return _socket.path(); }

    std::optional<Clock::time_point> nextDeadline() const;
        /// Now if requests wait to be served; else the earliest idle timeout or refusal count
        /// due; nothing if no client is connected (an idle hostd does not wake up).

    void onTurn(Clock::time_point now);
        /// Once per turn of the loop: serves waiting requests (within the turn's budget),
        /// closes idle connections, logs the count of refusals held back.

private:
    struct Client {
        UniqueFd fd;
        ControlPeer peer;
        std::string buffer;
        Clock::time_point lastActive;
        bool reading = true;  // watched by the loop; false while requests wait in the buffer
    };

    void onAccept();
    bool authorised(int fd, const ControlPeer& peer) const;
    std::optional<std::string> admissionRefusal(const ControlPeer& peer) const;
        /// Why a connection of peer cannot be taken now (slots), or nothing.
    void refuse(UniqueFd fd, const ControlPeer& peer, const std::string& why);
    void onReadable(int fd);
    void serveWaiting();
        /// Serves queued requests, root's first, one per connection in turn, within _budget.
    bool serveOne(Client& client);
        /// Answers the first complete line in the buffer; false if the connection must close.
    bool hasCompleteLine(const Client& client) const;
    bool mayServe(const Client& client, Clock::time_point now) const;
        /// Root, or a uid whose request rate allows one more now.
    Clock::time_point nextAllowed(uid_t uid) const;
    bool refuseLongLine(const Client& client);
        /// Logs and answers a request over kControlMaxLine; always false (close).
    void wait(Client& client);
    void close(int fd);

    EventLoop& _loop;
    ControlSocket _socket;
    const ControlCommands& _commands;
    std::optional<gid_t> _group;
    std::map<int, Client> _clients;
    std::map<uid_t, std::size_t> _perUser;
    std::deque<int> _waiting;  // connections with a complete request not yet served, in arrival order
    std::size_t _budget = kRequestsPerTurn;
    RateLimit _refusals;
    struct Allowance {
        double requests = kRequestsPerSecond;  // served now without waiting; refills at kRequestsPerSecond
        Clock::time_point updated;
    };
    mutable std::map<uid_t, Allowance> _allowances;  // uids but root; forgotten once full again
    struct Refused {
        Clock::time_point until;
        UniqueFd fd;
        std::string reply;
    };
    std::deque<Refused> _tarpit;  // in the order they were refused: `until` only grows
};

std::optional<ControlSocket> openControlSocket(const ConfigSnapshot& config);
    /// The socket of control_socket, its file owned by control_group if set; nothing if
    /// control_socket is empty or its default directory is missing. Runs before privileges
    /// are dropped, like the pidfile: /run/hostd may be writable by root only. Throws
    /// StartupError (ControlSocket::open; kExitConfig if control_group does not exist).

std::optional<gid_t> resolveControlGroup(const std::string& name);
    /// The group's id (a name through getgrnam_r, or a number), or nothing if unknown.

}  // namespace hostd
