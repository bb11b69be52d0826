#pragma once

#include "Config.h"
#include "ConnectionPool.h"
#include "EventLoop.h"
#include "HostFds.h"
#include "TrustedPath.h"
#include "UniqueFd.h"

#include <Poco/Net/HTTPRequest.h>

#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <string>

namespace hostd {

/// The HTTP endpoint of metrics_listen: /metrics, /healthz, /readyz and /debug/*, read from the
/// StatusBoard. Poco's HTTPServer is not used: its TCPServer accept loop wakes every 250 ms
/// (DESIGN.md section 9), and a connection takes a worker before it has asked anything.
///
/// Instead the listening socket and every connection whose request is still coming are fds of
/// the Supervisor's EventLoop: the request head is read there, non-blocking, at most 32 KiB,
/// within 5 s of the accept (else 408 and closed), then parsed by Poco::Net::HTTPRequest and
/// checked: the bearer token and the method are answered from the loop (401, 405). Only an
/// authorised GET goes to a ConnectionPool worker (4 workers, 32 queued, 10 s to write the
/// answer). At most 128 connections may be sending their request; one more pushes out the one
/// that has had longest. So idle connections, without the token, never keep an authorised
/// scrape from a worker. Bodies are never read; one request per connection.
class MetricsServer {
public:
    static std::unique_ptr<MetricsServer> create(const ConfigSnapshot& config, EventLoop& loop, std::string token = {});
        /// Nothing (no socket, no thread) when metrics_listen is empty. token: the content of
        /// metrics_token_file, read before the privilege drop (readTokenFile); read here if
        /// empty. Logs "metrics listening address=HOST:PORT". Throws StartupError (exit 78) for
        /// an unusable metrics_token_file, std::system_error if the address cannot be bound.
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    static void applyReload(MetricsServer* server, const ConfigSnapshot& after);
        /// After a configuration reload: re-reads the token file (rotation without a restart),
        /// as hostd's user now: a file only root can read stays as it was read at start.
        /// A changed metrics_listen or metrics_allow_remote applies at the next start; the
        /// Supervisor warns about it with the other restart-only keys.

    bool authorized(std::string_view authorizationHeader) const;
        /// True if no token is required, or the header is "Bearer <token>" (compared in
        /// constant time).

    std::optional<Clock::time_point> nextDeadline() const;
        /// The earliest deadline of a connection whose request is still coming, or nothing.

    void expire(Clock::time_point now);
        /// Answers 408 to, and closes, the connections past their deadline.

private:
    MetricsServer(EventLoop& loop, UniqueFd listener, std::string tokenFile, std::string token);
    void onAcceptable();
    void onRequestBytes(int fd);
    void serve(UniqueFd connection, const Poco::Net::HTTPRequest& request);
    UniqueFd take(int fd);
        /// Removes a pending connection from the loop and returns it.
    void drop(int fd);

    struct Pending {
        UniqueFd fd;
        std::string head;
        Clock::time_point deadline;
    };

    EventLoop& _loop;
    UniqueFd _listener;
    HostFds::Watched _listenerWatch{_listener.get(), "the metrics listener"};  // after _listener
    UniqueFd _spare;  // given up to accept (and close) a connection when out of descriptors
    std::string _tokenFile;
    mutable std::mutex _tokenMutex;
    std::string _tokenDigest;  // SHA-256 of the token; empty: no token required
    std::unique_ptr<ConnectionPool> _pool;
    std::map<int, Pending> _pending;  // accepted, request head not complete yet
};

std::string readTokenFile(const std::string& path, const TrustedOwners& owners);
    /// The token in path, trailing white space removed. Throws StartupError (kExitConfig) if
    /// the file is missing, breaks the trust rules for owners (TrustedPath.h: root or hostd's
    /// user, one link, no link to it, its directories likewise), is group- or world-accessible,
    /// larger than 4096 bytes, or empty.

}  // namespace hostd
