#include "MetricsServer.h"

#include "ExitCode.h"
#include "JsonWriter.h"
#include "ListenAddress.h"
#include "Log.h"
#include "Metrics.h"
#include "PrometheusText.h"
#include "Sha256.h"
#include "StartupError.h"
#include "StatusBoard.h"
#include "TrustedPath.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerConnection.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace hostd {

namespace {

using Poco::Net::HTTPResponse;

constexpr std::size_t kWorkers = 4;
constexpr std::size_t kMaxQueued = 32;
constexpr auto kConnectionDeadline = std::chrono::seconds(10);

std::string sha256(std::string_view text) { return Sha256::hex(text.data(), text.size()); }

/// Equal-length digests compared without an early exit: the time does not tell how much of a
/// guessed token was right.
bool sameDigest(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

[[noreturn]] void throwErrno(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

UniqueFd listenOn(const ListenAddress& a) {
    sockaddr_storage storage{};
    socklen_t len = 0;
    if (a.ipv6) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(a.port);
        ::inet_pton(AF_INET6, a.host.c_str(), &in6->sin6_addr);
        len = sizeof *in6;
    } else {
        auto* in4 = reinterpret_cast<sockaddr_in*>(&storage);
        in4->sin_family = AF_INET;
        in4->sin_port = htons(a.port);
        ::inet_pton(AF_INET, a.host.c_str(), &in4->sin_addr);
        len = sizeof *in4;
    }
    UniqueFd fd(::socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) throwErrno("metrics_listen: socket");
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&storage), len) != 0) throwErrno("metrics_listen: bind " + a.str());
    if (::listen(fd.get(), 64) != 0) throwErrno("metrics_listen: listen " + a.str());
    return fd;
}

std::string boundAddress(int fd, bool ipv6) {
    sockaddr_storage storage{};
    socklen_t len = sizeof storage;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &len);
    char host[INET6_ADDRSTRLEN] = {};
    std::uint16_t port = 0;
    if (ipv6) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
        return "[" + std::string(host) + "]:" + std::to_string(port);
    }
    auto* in4 = reinterpret_cast<sockaddr_in*>(&storage);
    ::inet_ntop(AF_INET, &in4->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in4->sin_port));
}

void send(Poco::Net::HTTPServerResponse& response, HTTPResponse::HTTPStatus status, std::string_view contentType,
          const std::string& body) {
    response.setStatusAndReason(status);
    response.setContentType(std::string(contentType));
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    response.set("Cache-Control", "no-store");
    response.send() << body;
}

void sendError(Poco::Net::HTTPServerResponse& response, HTTPResponse::HTTPStatus status, const std::string& message) {
    send(response, status, "application/json", "{\"error\":" + JsonWriter::quote(message) + "}\n");
}

/// Routes one request. Runs on a ConnectionPool worker.
class Handler : public Poco::Net::HTTPRequestHandler {
public:
    explicit Handler(const MetricsServer& server) : _server(server) {}

    void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
        if (!_server.authorized(request.get("Authorization", ""))) {
            response.set("WWW-Authenticate", "Bearer realm=\"hostd\"");
            sendError(response, HTTPResponse::HTTP_UNAUTHORIZED, "a valid bearer token is required");
            return;
        }
        if (request.getMethod() != Poco::Net::HTTPRequest::HTTP_GET) {
            response.set("Allow", "GET");
            sendError(response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "only GET is allowed");
            return;
        }
        std::string path = request.getURI().substr(0, request.getURI().find('?'));
        const char* json = "application/json";
        if (path == "/metrics") {
            send(response, HTTPResponse::HTTP_OK, PrometheusText::kContentType,
                 renderMetrics(StatusBoard::instance().snapshot(), ProcessStats::read()));
        } else if (path == "/healthz" || path == "/readyz") {
            auto snapshot = StatusBoard::instance().snapshot();
            Health h = path == "/healthz" ? checkHealth(snapshot) : checkReady(snapshot);
            send(response, h.ok ? HTTPResponse::HTTP_OK : HTTPResponse::HTTP_SERVICE_UNAVAILABLE, json, h.json);
        } else if (path == "/debug/threads") {
            send(response, HTTPResponse::HTTP_OK, json, threadsJson(StatusBoard::instance().snapshot()));
        } else if (path == "/debug/plugins") {
            send(response, HTTPResponse::HTTP_OK, json, pluginUsageJson(pluginUsage()));
        } else if (path == "/debug/memory") {
            send(response, HTTPResponse::HTTP_OK, json, memoryJson());
        } else {
            sendError(response, HTTPResponse::HTTP_NOT_FOUND,
                      "no such endpoint; try /metrics, /healthz, /readyz, /debug/threads, /debug/plugins, /debug/memory");
        }
    }

private:
    const MetricsServer& _server;
};

class HandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
public:
    explicit HandlerFactory(const MetricsServer& server) : _server(server) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
        return new Handler(_server);
    }

private:
    const MetricsServer& _server;
};

}  // namespace

std::string readTokenFile(const std::string& path, const TrustedOwners& owners) {
    auto refuse = [&](const std::string& why) {
        return StartupError(kExitConfig, "metrics_token_file " + path + ": " + why);
    };
    std::string token;
    try {
        UniqueFd dir = TrustedPath::openDirectory(TrustedPath::split(path).dir, owners);
        UniqueFd fd = TrustedPath::openFile(dir.get(), path, O_RDONLY, owners, 4096);
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0) throw refuse(systemErrorText("cannot stat", errno));
        if (st.st_mode & (S_IRWXG | S_IRWXO)) {
            char mode[8];
            std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
            throw refuse(std::string("refused: group- or world-accessible (mode ") + mode + "); chmod 600 it");
        }
        token = TrustedPath::readFileAt(dir.get(), path, owners, 4096);
    } catch (const PathRefused& e) {
        throw refuse("refused: " + e.about(path));
    } catch (const std::system_error& e) {
        throw refuse("cannot read: " + e.code().message());
    }
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    if (token.empty()) throw refuse("empty");
    return token;
}

std::unique_ptr<MetricsServer> MetricsServer::create(const ConfigSnapshot& config, EventLoop& loop, std::string token) {
    const HostSettings& h = config.host;
    if (h.metricsListen.empty()) return nullptr;
    std::string why;
    auto address = ListenAddress::parse(h.metricsListen, why);
    if (!address) throw StartupError(kExitConfig, "metrics_listen = '" + h.metricsListen + "': " + why);
    if (!h.metricsTokenFile.empty() && token.empty()) token = readTokenFile(h.metricsTokenFile, TrustedOwners::current());
    UniqueFd listener = listenOn(*address);
    std::unique_ptr<MetricsServer> server(new MetricsServer(loop, std::move(listener), h.metricsTokenFile, token));
    HOSTD_LOG(Info, "", "metrics listening", {"address", boundAddress(server->_listener.get(), address->ipv6)},
              {"token", token.empty() ? "none" : "required"});
    return server;
}

MetricsServer::MetricsServer(EventLoop& loop, UniqueFd listener, std::string tokenFile, std::string token)
    : _loop(loop), _listener(std::move(listener)), _spare(::open("/dev/null", O_RDONLY | O_CLOEXEC)),
      _tokenFile(std::move(tokenFile)), _tokenDigest(token.empty() ? "" : sha256(token)) {
    auto params = Poco::Net::HTTPServerParams::Ptr(new Poco::Net::HTTPServerParams);
    params->setKeepAlive(false);  // one request per connection: a client cannot hold a worker between requests
    params->setTimeout(Poco::Timespan(5, 0));
    params->setServerName("hostd");
    params->setSoftwareVersion("hostd");
    Poco::Net::HTTPRequestHandlerFactory::Ptr factory(new HandlerFactory(*this));
    _pool = std::make_unique<ConnectionPool>(kWorkers, kMaxQueued, kConnectionDeadline,
                                             [params, factory](Poco::Net::StreamSocket& socket) {
                                                 socket.setReceiveTimeout(Poco::Timespan(5, 0));
                                                 socket.setSendTimeout(Poco::Timespan(5, 0));
                                                 Poco::Net::HTTPServerConnection connection(socket, params, factory);
                                                 connection.run();  // exceptions end in ConnectionPool::work
                                             });
    _loop.add(_listener.get(), [this] { onAcceptable(); });
}

MetricsServer::~MetricsServer() {
    _loop.remove(_listener.get());
    _pool.reset();  // joins the workers before the handlers' server reference dangles
}

void MetricsServer::onAcceptable() {
    for (int i = 0; i < 64; ++i) {  // then back to the loop: plugins' events must not wait on a flood
        UniqueFd fd(::accept4(_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!fd) {
            if (errno == EINTR) continue;
            if ((errno == EMFILE || errno == ENFILE) && _spare) {
                // Out of descriptors: the pending connection would make the level-triggered
                // loop spin. Accept it with the spare descriptor and close it at once.
                _spare.reset();
                UniqueFd dropped(::accept4(_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
                _spare.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
                StatusBoard::instance().connectionRejected();
                continue;
            }
            return;  // EAGAIN: nothing more to accept
        }
        if (!_pool->offer(std::move(fd))) StatusBoard::instance().connectionRejected();
    }
}

bool MetricsServer::authorized(std::string_view header) const {
    std::lock_guard lock(_tokenMutex);
    if (_tokenDigest.empty()) return true;
    constexpr std::string_view kScheme = "bearer ";  // the scheme is case-insensitive (RFC 7235)
    if (header.size() < kScheme.size()) return false;
    for (std::size_t i = 0; i < kScheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return false;
    return sameDigest(sha256(header.substr(kScheme.size())), _tokenDigest);
}

void MetricsServer::applyReload(MetricsServer* server, const ConfigSnapshot& after) {
    // metrics_listen and metrics_allow_remote are named by Supervisor::warnAboutRestartOnlyKeys;
    // only the token itself is re-read here.
    const HostSettings& b = after.host;
    if (server == nullptr) return;
    if (b.metricsTokenFile != server->_tokenFile) {
        HOSTD_LOG(Warning, "", "metrics_token_file changed; it applies at the next start", {"path", b.metricsTokenFile});
        return;
    }
    if (b.metricsTokenFile.empty()) return;
    try {
        std::string digest = sha256(readTokenFile(b.metricsTokenFile, TrustedOwners::current()));
        std::lock_guard lock(server->_tokenMutex);
        server->_tokenDigest = std::move(digest);
    } catch (const StartupError& e) {
        HOSTD_LOG(Error, "", "metrics token not reloaded; the previous token stays", {"error", e.what()});
    }
}

}  // namespace hostd
