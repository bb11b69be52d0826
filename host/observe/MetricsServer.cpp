#include "MetricsServer.h"

#include "ExitCode.h"
#include "ListenAddress.h"
#include "Log.h"
#include "MetricsRoutes.h"
#include "Sha256.h"
#include "StartupError.h"
#include "StatusBoard.h"
#include "TrustedPath.h"

#include <Poco/Net/HTTPRequest.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sstream>
#include <system_error>
#include <unistd.h>

namespace hostd {

namespace {

using Poco::Net::HTTPResponse;

constexpr std::size_t kWorkers = 4;
constexpr std::size_t kMaxQueued = 32;
constexpr auto kConnectionDeadline = std::chrono::seconds(10);  // a worker's, to write the answer
constexpr std::size_t kMaxPending = 128;                        // connections whose request is being read
constexpr std::size_t kMaxHead = 32 * 1024;
constexpr auto kHeadDeadline = std::chrono::seconds(5);         // from accept to the complete request

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

/// The route's answer, or a 500 naming what went wrong: a client must never be left with a
/// connection closed unanswered, nor the log without the reason.
HttpAnswer answerFor(const std::string& target) {
    try {
        return routeMetrics(target);
    } catch (const std::exception& e) {
        HOSTD_LOG(Error, "", "metrics endpoint could not render its answer", {"target", target}, {"error", e.what()});
        return HttpAnswer::error(HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, std::string("cannot render: ") + e.what());
    }
}

/// Writes a small answer without blocking (the socket buffer of a fresh connection holds it)
/// and closes the connection.
void answerAndClose(UniqueFd fd, const HttpAnswer& answer) {
    std::string bytes = answer.serialize();
    [[maybe_unused]] ssize_t n = ::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::shutdown(fd.get(), SHUT_WR);
}

/// The end of a request head in text ("\r\n\r\n", or "\n\n" from lenient clients), or npos.
std::size_t headEnd(const std::string& text) {
    std::size_t crlf = text.find("\r\n\r\n"), lf = text.find("\n\n");
    if (crlf != std::string::npos) crlf += 4;
    if (lf != std::string::npos) lf += 2;
    return std::min(crlf, lf);
}

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
    _pool = std::make_unique<ConnectionPool>(kWorkers, kMaxQueued, kConnectionDeadline,
                                             [](Poco::Net::StreamSocket& socket, const std::string& target) {
                                                 socket.setSendTimeout(Poco::Timespan(5, 0));
                                                 std::string bytes = answerFor(target).serialize();
                                                 // exceptions end in ConnectionPool::work
                                                 for (std::size_t done = 0; done < bytes.size();)
                                                     done += static_cast<std::size_t>(socket.sendBytes(
                                                         bytes.data() + done, static_cast<int>(bytes.size() - done)));
                                                 socket.shutdownSend();
                                             });
    _loop.add(_listener.get(), [this] { onAcceptable(); });
}

MetricsServer::~MetricsServer() {
    for (const auto& [fd, _] : _pending) _loop.remove(fd);
    _loop.remove(_listener.get());
    _pool.reset();  // joins the workers
}

void MetricsServer::onAcceptable() {
    for (int i = 0; i < 64; ++i) {  // then back to the loop: plugins' events must not wait on a flood
        UniqueFd fd(::accept4(_listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
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
        if (_pending.size() >= kMaxPending) {
            // The one that has had longest to send its request makes room: a flood of
            // connections that send nothing cannot keep a real request out.
            auto oldest = std::min_element(_pending.begin(), _pending.end(),
                                           [](auto& a, auto& b) { return a.second.deadline < b.second.deadline; });
            drop(oldest->first);
            StatusBoard::instance().connectionRejected();
        }
        int raw = fd.get();
        _loop.add(raw, [this, raw] { onRequestBytes(raw); });
        _pending.emplace(raw, Pending{std::move(fd), {}, Clock::now() + kHeadDeadline});
    }
}

void MetricsServer::onRequestBytes(int fd) {
    auto it = _pending.find(fd);
    if (it == _pending.end()) return;
    Pending& p = it->second;
    char buf[8192];
    ssize_t n = ::recv(fd, buf, std::min(sizeof buf, kMaxHead + 1 - p.head.size()), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {
        drop(fd);
        return;
    }
    p.head.append(buf, static_cast<std::size_t>(n));
    std::size_t end = headEnd(p.head);
    if (end == std::string::npos && p.head.size() <= kMaxHead) return;  // more to come, within the deadline
    std::string head = end == std::string::npos ? std::string() : p.head.substr(0, end);
    UniqueFd connection = take(fd);  // p is gone from here on
    if (end == std::string::npos) {
        answerAndClose(std::move(connection),
                       HttpAnswer::error(HTTPResponse::HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE, "request head too large"));
        return;
    }
    Poco::Net::HTTPRequest request;
    try {
        std::istringstream in(head);
        request.read(in);
    } catch (const Poco::Exception& e) {
        answerAndClose(std::move(connection), HttpAnswer::error(HTTPResponse::HTTP_BAD_REQUEST, "malformed request"));
        return;
    }
    serve(std::move(connection), request);
}

void MetricsServer::serve(UniqueFd connection, const Poco::Net::HTTPRequest& request) {
    // Decided here, on the loop, from the request head alone: only an authorised GET reaches a
    // worker, so clients without the token cannot take the workers from those with it.
    if (!authorized(request.get("Authorization", ""))) {
        HttpAnswer denied = HttpAnswer::error(HTTPResponse::HTTP_UNAUTHORIZED, "a valid bearer token is required");
        denied.headers["WWW-Authenticate"] = "Bearer realm=\"hostd\"";
        answerAndClose(std::move(connection), denied);
        return;
    }
    if (request.getMethod() != Poco::Net::HTTPRequest::HTTP_GET) {
        HttpAnswer refused = HttpAnswer::error(HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "only GET is allowed");
        refused.headers["Allow"] = "GET";
        answerAndClose(std::move(connection), refused);
        return;
    }
    if (!_pool->offer(connection, request.getURI())) {
        StatusBoard::instance().connectionRejected();
        answerAndClose(std::move(connection), HttpAnswer::error(HTTPResponse::HTTP_SERVICE_UNAVAILABLE, "busy; try again"));
    }
}

UniqueFd MetricsServer::take(int fd) {
    auto it = _pending.find(fd);
    _loop.remove(fd);
    UniqueFd out = std::move(it->second.fd);
    _pending.erase(it);
    return out;
}

void MetricsServer::drop(int fd) { take(fd); }

std::optional<Clock::time_point> MetricsServer::nextDeadline() const {
    std::optional<Clock::time_point> next;
    for (const auto& [_, p] : _pending)
        if (!next || p.deadline < *next) next = p.deadline;
    return next;
}

void MetricsServer::expire(Clock::time_point now) {
    std::vector<int> late;
    for (const auto& [fd, p] : _pending)
        if (p.deadline <= now) late.push_back(fd);
    for (int fd : late) {
        answerAndClose(take(fd), HttpAnswer::error(HTTPResponse::HTTP_REQUEST_TIMEOUT, "no complete request in time"));
        StatusBoard::instance().connectionRejected();
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
