// echo: a TCP echo service on one thread of its own, built on Poco::Net sockets.
//
// What it shows:
// - a plugin that depends on another one (it requires heartbeat, see HOSTD_PLUGIN below), so
//   the host starts it after heartbeat and stops it before;
// - turning Poco exceptions into hostd errors that say what failed: Poco::Exception::what() is
//   only the class's name ("I/O error"), the details are in displayText();
// - an event loop that sleeps in poll() until a socket or a wake-up eventfd is ready, so an
//   idle daemon never wakes up, and stop is prompt. Poco::Net::TCPServer is not used because
//   its accept loop wakes every 250 ms;
// - reload that applies what it can live (max_clients) and refuses what it cannot (listen).

#include "WakeUpEvent.h"

#include <hostd/plugin.hpp>

#include <Poco/Exception.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <future>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/socket.h>

namespace {

using SteadyClock = std::chrono::steady_clock;

/// Most bytes read from a client at once. A client's unsent bytes never exceed it, because
/// nothing more is read from a client until its last chunk is echoed: memory stays bounded
/// by max_clients * kChunkSize even when a client does not read its replies.
constexpr int kChunkSize = 16 * 1024;

/// The validated configuration of the plugin.
struct EchoSettings {
    std::string listen{"127.0.0.1:7007"};  ///< As written in the configuration; used in messages.
    Poco::Net::SocketAddress address;      ///< The parsed `listen`.
    bool allowRemote = false;
    std::size_t maxClients = 64;

    static EchoSettings fromConfig(const hostd::Config& config) {
        EchoSettings settings;
        settings.listen = config.getString("listen", settings.listen);
        settings.allowRemote = config.getBool("allow_remote", settings.allowRemote);
        settings.maxClients = static_cast<std::size_t>(config.getInt("max_clients", 64, 1, 10000));
        try {
            settings.address = Poco::Net::SocketAddress(settings.listen);
        } catch (const Poco::Exception& e) {
            throw hostd::ConfigError("listen = '" + settings.listen + "' is not a HOST:PORT address: " +
                                     e.displayText());
        }
        // An echo service open to the network is a traffic reflector: make exposing it a choice.
        if (!settings.allowRemote && !settings.address.host().isLoopback())
            throw hostd::ConfigError("listen = '" + settings.listen + "' is not a loopback address; " +
                                     "set allow_remote = true to accept remote clients");
        return settings;
    }
        /// Reads and validates every key; throws hostd::ConfigError.
};

/// One connected client.
struct Client {
    Poco::Net::StreamSocket socket;  ///< Non-blocking.
    std::string peer;                ///< For log messages.
    std::string unsent;              ///< Received bytes the client's socket could not take yet.
    bool closed = false;             ///< Set when the connection is over; removed after the poll round.
};

/// Echoes every byte received on each connection back to its sender.
class EchoService : public hostd::Plugin {
public:
    using hostd::Plugin::Plugin;

    ~EchoService() override { stopThread(); }
        /// A safety net only: stop has normally joined the thread already.

    void start(const hostd::Config& config) override {
        _settings = EchoSettings::fromConfig(config);
        _maxClients = _settings.maxClients;
        try {
            // reuseAddress: hostd can restart at once although old connections are in TIME_WAIT.
            _listener.bind(_settings.address, true);
            _listener.listen();
            _listener.setBlocking(false);
        } catch (const Poco::Exception& e) {
            throw hostd::Error(HOSTD_ERR_UNAVAILABLE,
                               "cannot listen on " + _settings.listen + ": " + e.displayText());
        }
        std::string boundAddress = _listener.address().toString();  // the real port if `listen` said 0
        _threadDone = _threadDonePromise.get_future();
        _thread = std::thread([this] { run(); });
        context().info("listening on " + boundAddress);
    }

    void reload(const hostd::Config& config) override {
        EchoSettings settings = EchoSettings::fromConfig(config);
        // Rebinding live would mean a window where neither address accepts, or two listeners;
        // refusing keeps the old configuration in effect and tells the operator why.
        if (!(settings.address == _settings.address))
            throw hostd::ConfigError("listen cannot change while running (still " + _settings.listen +
                                     "); restart hostd to move it");
        _settings = std::move(settings);
        _maxClients = _settings.maxClients;
        _wakeUp.signal();  // the loop may be waiting with the listener left out because it was full
    }

    void stop(hostd::Deadline deadline) override {
        _stopRequested = true;
        _wakeUp.signal();
        // std::thread::join has no timeout; the promise tells whether the join would overrun.
        if (_threadDone.valid() && _threadDone.wait_until(deadline) != std::future_status::ready)
            context().warning("event thread did not finish before the stop deadline; joining anyway");
        stopThread();
    }

private:
    void run() noexcept {
        context().tagThisThread("echo");  // ABI 1.2: named, and attributed to us in hostd's views
        // An exception escaping a thread calls std::terminate, which would kill the host.
        try {
            serveUntilStopped();
        } catch (const std::exception& e) {
            context().error(std::string("event loop failed, no longer serving: ") + e.what());
        }
        // Close on the thread that used the sockets, before stop learns we are done.
        _clients.clear();
        _listener.close();
        _threadDonePromise.set_value();
    }
        /// The event thread's body.

    void serveUntilStopped() {
        std::vector<pollfd> pollSet;
        std::vector<char> chunk(kChunkSize);
        SteadyClock::time_point acceptPausedUntil{};
        while (true) {
            auto now = SteadyClock::now();
            bool acceptPaused = now < acceptPausedUntil;
            bool accepting = !acceptPaused && _clients.size() < _maxClients;
            // Normally sleep until something happens; a timeout only while accepting is paused.
            auto pauseLeft = std::chrono::ceil<std::chrono::milliseconds>(acceptPausedUntil - now);
            int timeoutMs = acceptPaused ? static_cast<int>(pauseLeft.count()) : -1;

            // Rebuilt every round: simpler than keeping it in sync, and cheap next to the syscalls.
            pollSet.clear();
            pollSet.push_back({_wakeUp.fd(), POLLIN, 0});
            // When full, leave the listener out (poll ignores a negative fd): new clients wait
            // in the kernel's backlog instead of being accepted and dropped.
            pollSet.push_back({accepting ? _listener.impl()->sockfd() : -1, POLLIN, 0});
            for (const Client& client : _clients)
                pollSet.push_back({client.socket.impl()->sockfd(),
                                   static_cast<short>(client.unsent.empty() ? POLLIN : POLLOUT), 0});

            if (::poll(pollSet.data(), pollSet.size(), timeoutMs) < 0) {
                if (errno == EINTR) continue;
                throw std::system_error(errno, std::generic_category(), "poll");
            }
            if (pollSet[0].revents != 0) {
                _wakeUp.clear();
                if (_stopRequested) return;
            }
            // Only clients present before poll(); accepting afterwards keeps indexes aligned.
            for (std::size_t i = 0; i < _clients.size(); ++i)
                serve(_clients[i], pollSet[i + 2].revents, chunk);
            std::erase_if(_clients, [](const Client& client) { return client.closed; });
            if (pollSet[1].revents != 0 && !acceptClients())
                acceptPausedUntil = SteadyClock::now() + std::chrono::seconds(1);
        }
    }
        /// Runs the event loop until stop is requested. The only place the thread sleeps.

    bool acceptClients() {
        while (_clients.size() < _maxClients) {
            try {
                Poco::Net::SocketAddress peer;
                Poco::Net::StreamSocket socket = _listener.acceptConnection(peer);
                socket.setBlocking(false);
                _clients.push_back(Client{socket, peer.toString(), {}, false});
                context().debug("client " + peer.toString() + " connected");
            } catch (const Poco::Exception& e) {
                int error = e.code();  // Poco puts errno here
                if (error == EAGAIN || error == EWOULDBLOCK) return true;  // backlog drained
                if (error == ECONNABORTED || error == EINTR) continue;      // that client gave up
                // Typically EMFILE: the listener stays readable, so without a pause the loop
                // would spin. The caller retries in a second.
                context().warning("cannot accept clients, retrying in 1s: " + e.displayText());
                return false;
            }
        }
        return true;
    }
        /// Accepts pending connections up to max_clients; false if accepting must pause.

    void serve(Client& client, short events, std::vector<char>& chunk) {
        if (events == 0) return;
        try {
            if (events & (POLLERR | POLLNVAL)) {
                disconnect(client, "connection error");
            } else if (!client.unsent.empty()) {
                client.unsent.erase(0, sendSome(client, client.unsent.data(), client.unsent.size()));
            } else {
                int received = client.socket.receiveBytes(chunk.data(), kChunkSize);
                // 0 means the client finished sending, and everything it sent is echoed already.
                if (received == 0) disconnect(client, "disconnected");
                if (received <= 0) return;  // < 0: nothing to read after all (EAGAIN)
                // Most of the time the socket takes it all at once, so nothing is copied.
                std::size_t length = static_cast<std::size_t>(received);
                std::size_t sent = sendSome(client, chunk.data(), length);
                client.unsent.assign(chunk.data() + sent, length - sent);
            }
        } catch (const Poco::Exception& e) {
            disconnect(client, e.displayText());
        }
    }
        /// Does the one step the client is ready for: send its unsent bytes, or read and echo.

    static std::size_t sendSome(Client& client, const char* data, std::size_t length) {
        try {
            // MSG_NOSIGNAL: a client gone away must not raise SIGPIPE in the host.
            int sent = client.socket.sendBytes(data, static_cast<int>(length), MSG_NOSIGNAL);
            return sent > 0 ? static_cast<std::size_t>(sent) : 0;
        } catch (const Poco::Exception& e) {
            // Unlike receiveBytes, Poco 1.11's sendBytes throws when a non-blocking socket is full.
            if (e.code() == EAGAIN || e.code() == EWOULDBLOCK) return 0;
            throw;
        }
    }
        /// Sends what the client's socket takes now; throws Poco::Exception if the connection failed.

    void disconnect(Client& client, const std::string& why) {
        context().debug("client " + client.peer + " closed: " + why);
        client.socket.close();
        client.closed = true;
    }

    void stopThread() noexcept {
        _stopRequested = true;
        _wakeUp.signal();
        if (_thread.joinable()) _thread.join();
    }
        /// Requests the stop, wakes the thread and joins it, however long that takes.

    EchoSettings _settings;                     ///< Used by start and reload only.
    std::atomic<std::size_t> _maxClients{64};   ///< Read by the event thread; reload may change it.
    std::atomic<bool> _stopRequested{false};
    WakeUpEvent _wakeUp;
    // Owned by the event thread while it runs.
    Poco::Net::ServerSocket _listener;
    std::vector<Client> _clients;
    std::promise<void> _threadDonePromise;      ///< Fulfilled by the event thread as it ends.
    std::future<void> _threadDone;
    std::thread _thread;
};

}  // namespace

HOSTD_PLUGIN(EchoService, "1.0.0", "TCP echo service on a single event thread", "heartbeat")
