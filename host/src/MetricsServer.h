#pragma once

#include "Config.h"
#include "ConnectionPool.h"
#include "EventLoop.h"
#include "TrustedPath.h"
#include "UniqueFd.h"

#include <memory>
#include <mutex>
#include <string>

namespace hostd {

/// The HTTP endpoint of metrics_listen: /metrics, /healthz, /readyz and /debug/*, read from the
/// StatusBoard. Poco's HTTPServer is not used: its TCPServer accept loop wakes every 250 ms
/// (DESIGN.md section 9). Instead the listening socket is one more fd of the Supervisor's
/// EventLoop, and each accepted connection is handed to Poco::Net::HTTPServerConnection on a
/// ConnectionPool: 4 workers, 32 queued connections, one request per connection, 10 s for it.
/// Request size is bounded by Poco's parser (URI 16 KB, 100 header fields of at most 8 KB);
/// bodies are never read: only GET is served.
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

private:
    MetricsServer(EventLoop& loop, UniqueFd listener, std::string tokenFile, std::string token);
    void onAcceptable();

    EventLoop& _loop;
    UniqueFd _listener;
    UniqueFd _spare;  // given up to accept (and close) a connection when out of descriptors
    std::string _tokenFile;
    mutable std::mutex _tokenMutex;
    std::string _tokenDigest;  // SHA-256 of the token; empty: no token required
    std::unique_ptr<ConnectionPool> _pool;
};

std::string readTokenFile(const std::string& path, const TrustedOwners& owners);
    /// The token in path, trailing white space removed. Throws StartupError (kExitConfig) if
    /// the file is missing, breaks the trust rules for owners (TrustedPath.h: root or hostd's
    /// user, one link, no link to it, its directories likewise), is group- or world-accessible,
    /// larger than 4096 bytes, or empty.

}  // namespace hostd
