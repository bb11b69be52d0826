// hostd C++ plugin SDK: a header-only wrapper over hostd/plugin.h.
//
//   class Clock : public hostd::Plugin {
//   public:
//       using hostd::Plugin::Plugin;
//       void start(const hostd::Config& config) override { ... }
//       void stop(hostd::Deadline deadline) override { ... }
//   };
//   HOSTD_PLUGIN(Clock, "1.0.0", "Prints the time", "other_plugin")
//
// One object of the class lives from just before start until just after stop.
// Every exception thrown by a callback is caught here and returned to the host
// as a result code plus the exception's message; nothing throws across the C ABI.
//
// The message is what(). Throw hostd::Error to choose the result code too. Note that
// Poco::Exception::what() is only the class name ("I/O error"); its details are in
// displayText(): catch it and rethrow hostd::Error with displayText(), or wrap the call in
// hostd::withPocoErrors from <hostd/poco.hpp>.
//
// The rules a plugin follows (threads, deadlines, unloading) are in hostd/plugin.h and in
// docs/writing-plugins.md; hostd-plugin-check tests a built plugin against them.
#ifndef HOSTD_PLUGIN_HPP
#define HOSTD_PLUGIN_HPP

#include <hostd/plugin.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace hostd {

/// Deadline of a stop call, on the host's CLOCK_MONOTONIC (std::chrono::steady_clock).
using Deadline = std::chrono::steady_clock::time_point;

/// An error with a result code. Throw it from a callback to choose the code the host sees;
/// any other std::exception is reported as HOSTD_ERR_EXCEPTION.
class Error : public std::runtime_error {
public:
    Error(hostd_type_result code, const std::string& message) : std::runtime_error(message), _code(code) {}
    hostd_type_result code() const noexcept { return _code; }
        /// The result code returned to the host.
private:
    hostd_type_result _code;
};

/// Thrown for a missing or invalid configuration value (HOSTD_ERR_CONFIG).
class ConfigError : public Error {
public:
    explicit ConfigError(const std::string& message) : Error(HOSTD_ERR_CONFIG, message) {}
};

/// A read-only view of the plugin's configuration section, valid during the callback.
class Config {
public:
    Config(const hostd_type_config* config, const hostd_type_services* services) noexcept
        : _config(config), _services(services) {}

    std::optional<std::string_view> find(std::string_view key) const noexcept {
        if (_config == nullptr) return std::nullopt;
        hostd_type_str out{nullptr, 0};
        if (HOSTD_HAS_SERVICE(_services, hostd_cb_config_get)) {
            if (_services->hostd_cb_config_get(_config, key.data(), key.size(), &out) != HOSTD_OK)
                return std::nullopt;
            return std::string_view(out.ptr, out.len);
        }
        for (size_t i = 0; i < _config->count; ++i) {
            const hostd_type_config_entry& e = _config->entries[i];
            if (std::string_view(e.key.ptr, e.key.len) == key) return std::string_view(e.value.ptr, e.value.len);
        }
        return std::nullopt;
    }
        /// The value of `key`, or nothing if the key is absent.

    bool has(std::string_view key) const noexcept { return find(key).has_value(); }

    std::string getString(std::string_view key, std::string_view fallback) const {
        auto v = find(key);
        return std::string(v ? *v : fallback);
    }

    std::string requireString(std::string_view key) const {
        auto v = find(key);
        if (!v) throw ConfigError("missing required key '" + std::string(key) + "'");
        return std::string(*v);
    }
        /// Throws ConfigError if the key is absent.

    long long getInt(std::string_view key, long long fallback, long long min, long long max) const {
        auto v = find(key);
        if (!v) return fallback;
        long long out = 0;
        auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
        if (ec != std::errc() || end != v->data() + v->size())
            throw ConfigError(quoted(key, *v) + " is not an integer");
        if (out < min || out > max)
            throw ConfigError(quoted(key, *v) + " is out of range [" + std::to_string(min) + ", " +
                              std::to_string(max) + "]");
        return out;
    }
        /// An integer in [min, max]; throws ConfigError otherwise.

    bool getBool(std::string_view key, bool fallback) const {
        auto v = find(key);
        if (!v) return fallback;
        if (*v == "true" || *v == "yes" || *v == "on" || *v == "1") return true;
        if (*v == "false" || *v == "no" || *v == "off" || *v == "0") return false;
        throw ConfigError(quoted(key, *v) + " is not a boolean (true/false)");
    }

    std::chrono::milliseconds getDuration(std::string_view key, std::chrono::milliseconds fallback) const {
        auto v = find(key);
        if (!v) return fallback;
        std::string_view s = *v;
        long long mult = 1000;  // a bare number is seconds, like the host's durations
        if (s.size() > 2 && s.substr(s.size() - 2) == "ms") { mult = 1; s.remove_suffix(2); }
        else if (!s.empty() && s.back() == 's') { mult = 1000; s.remove_suffix(1); }
        else if (!s.empty() && s.back() == 'm') { mult = 60000; s.remove_suffix(1); }
        long long n = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        if (s.empty() || ec != std::errc() || end != s.data() + s.size() || n < 0 || n > (1LL << 40) / mult)
            throw ConfigError(quoted(key, *v) + " is not a duration (e.g. 500ms, 10s, 2m)");
        return std::chrono::milliseconds(n * mult);
    }
        /// A duration with suffix ms, s or m (bare number: seconds); throws ConfigError otherwise.

    const hostd_type_config* raw() const noexcept { return _config; }

private:
    static std::string quoted(std::string_view key, std::string_view value) {
        return std::string(key) + " = '" + std::string(value) + "'";
    }
    const hostd_type_config* _config;
    const hostd_type_services* _services;
};

/// The plugin's identity and the host's services. Safe to use from the plugin's own threads
/// until stop returns.
class Context {
public:
    explicit Context(const hostd_type_context* ctx) noexcept : _ctx(ctx) {}

    std::string_view name() const noexcept { return {_ctx->instance_name.ptr, _ctx->instance_name.len}; }
        /// The instance name (file stem of NAME.so).

    bool stopping() const noexcept {
        return HOSTD_HAS_SERVICE(_ctx->services, hostd_cb_is_stopping) && _ctx->services->hostd_cb_is_stopping(_ctx) != 0;
    }
        /// True once the host is draining.

    void log(hostd_type_log_level level, std::string_view message) const noexcept {
        if (HOSTD_HAS_SERVICE(_ctx->services, hostd_cb_log))
            _ctx->services->hostd_cb_log(_ctx, level, message.data(), message.size());
    }
    void error(std::string_view m) const noexcept { log(HOSTD_LOG_ERROR, m); }
    void warning(std::string_view m) const noexcept { log(HOSTD_LOG_WARNING, m); }
    void notice(std::string_view m) const noexcept { log(HOSTD_LOG_NOTICE, m); }
    void info(std::string_view m) const noexcept { log(HOSTD_LOG_INFO, m); }
    void debug(std::string_view m) const noexcept { log(HOSTD_LOG_DEBUG, m); }

    bool reportFailure(std::string_view message) const noexcept {
        if (!HOSTD_HAS_SERVICE(_ctx->services, hostd_cb_report_failure)) return false;
        _ctx->services->hostd_cb_report_failure(_ctx, message.data(), message.size());
        return true;
    }
        /// ABI 1.1: tells the host the running plugin failed for good; it is restarted with
        /// backoff. False on a 1.0 host, which has no such service.

    bool tagThisThread(std::string_view name) const noexcept {
        if (!HOSTD_HAS_SERVICE(_ctx->services, hostd_cb_thread_tag)) return false;
        _ctx->services->hostd_cb_thread_tag(_ctx, name.data(), name.size());
        return true;
    }
        /// ABI 1.2: names the calling thread (the OS keeps 15 characters) and tells the host it
        /// is the plugin's, for hostd's thread and CPU views. Call it first thing in a thread
        /// the plugin starts, or start the thread with hostd::Thread. False (and nothing done)
        /// on a host older than 1.2.

    const hostd_type_context* raw() const noexcept { return _ctx; }
    const hostd_type_services* services() const noexcept { return _ctx->services; }

private:
    const hostd_type_context* _ctx;
};

/// A std::thread that names and tags itself as the plugin's before running its body
/// (Context::tagThisThread), so hostd attributes it; on a host older than ABI 1.2 it is a
/// plain thread. Joined by the destructor and by move assignment, never left running: the
/// plugin's image is unmapped right after stop returns. An exception escaping the body ends
/// the process, as with std::thread: catch inside.
///
///     _worker = hostd::Thread(context(), "myplugin-io", [this] { run(); });
///     ...
///     _worker.join();  // in stop
class Thread {
public:
    Thread() noexcept = default;

    template <class F>
    Thread(const Context& context, std::string name, F&& body)
        : _thread([context, name = std::move(name), body = std::forward<F>(body)]() mutable {
              context.tagThisThread(name);
              body();
          }) {}
        /// Starts the thread. Throws std::system_error if it cannot be created.

    Thread(Thread&&) noexcept = default;
    Thread& operator=(Thread&& other) noexcept {
        if (this != &other) {
            join();
            _thread = std::move(other._thread);
        }
        return *this;
    }
    ~Thread() { join(); }

    bool joinable() const noexcept { return _thread.joinable(); }
    void join() {
        if (_thread.joinable()) _thread.join();
    }
        /// Waits for the body to return; does nothing if there is no thread.

private:
    std::thread _thread;
};

/// Base class of a C++ plugin. Override start and stop, and reload to accept config changes
/// (the default accepts them without doing anything).
class Plugin {
public:
    explicit Plugin(const Context& context) : _context(context) {}
    virtual ~Plugin() = default;
    Plugin(const Plugin&) = delete;
    Plugin& operator=(const Plugin&) = delete;

    virtual void start(const Config& config) = 0;
        /// Starts the plugin. Throw to fail; the message is logged by the host.

    virtual void reload(const Config& config) { (void)config; }
        /// Applies a changed configuration. Throw to refuse it: the old one stays in effect.

    virtual void stop(Deadline deadline) = 0;
        /// Stops the plugin, joining every thread it started, before `deadline`.

    const Context& context() const noexcept { return _context; }

private:
    Context _context;
};

namespace detail {

inline void setMessage(hostd_type_message* message, const char* text) noexcept {
    if (message == nullptr || message->buf == nullptr || message->cap == 0) return;
    std::snprintf(message->buf, message->cap, "%s", text);
}

template <class F>
hostd_type_result guard(hostd_type_message* message, F&& f) noexcept {
    try {
        f();
        return HOSTD_OK;
    } catch (const Error& e) {
        setMessage(message, e.what());
        return e.code() == HOSTD_OK ? HOSTD_ERR_FAILED : e.code();
    } catch (const std::exception& e) {
        setMessage(message, e.what());
        return HOSTD_ERR_EXCEPTION;
    } catch (...) {
        setMessage(message, "unknown exception");
        return HOSTD_ERR_EXCEPTION;
    }
}

/// Owns the one live object of plugin class T between start and stop.
template <class T>
struct Holder {
    alignas(T) unsigned char storage[sizeof(T)];
    T* object = nullptr;

    void destroy() noexcept {
        if (object != nullptr) {
            object->~T();
            object = nullptr;
        }
    }

    static hostd_type_result onStart(void* self, const hostd_type_context* ctx, const hostd_type_config* config,
                                     hostd_type_message* message) {
        auto* h = static_cast<Holder*>(self);
        h->destroy();  // a restart after a failed start gets a fresh object
        hostd_type_result rc = guard(message, [&] { h->object = new (h->storage) T(Context(ctx)); });
        if (rc != HOSTD_OK) return rc;
        rc = guard(message, [&] { h->object->start(Config(config, ctx->services)); });
        if (rc != HOSTD_OK) h->destroy();
        return rc;
    }

    static hostd_type_result onReload(void* self, const hostd_type_context* ctx, const hostd_type_config* config,
                                      hostd_type_message* message) {
        auto* h = static_cast<Holder*>(self);
        if (h->object == nullptr) {
            setMessage(message, "reload called while not started");
            return HOSTD_ERR_FAILED;
        }
        return guard(message, [&] { h->object->reload(Config(config, ctx->services)); });
    }

    static hostd_type_result onStop(void* self, const hostd_type_context*, int64_t deadline_ns,
                                    hostd_type_message* message) {
        auto* h = static_cast<Holder*>(self);
        if (h->object == nullptr) return HOSTD_OK;
        Deadline deadline{std::chrono::duration_cast<Deadline::duration>(std::chrono::nanoseconds(deadline_ns))};
        hostd_type_result rc = guard(message, [&] { h->object->stop(deadline); });
        h->destroy();
        return rc;
    }
};

}  // namespace detail
}  // namespace hostd

/// Defines the plugin's entry point for class CLASS. The variadic arguments are the names of
/// the plugins it must start after (string literals), possibly none.
#define HOSTD_PLUGIN(CLASS, VERSION, DESCRIPTION, ...)                                              \
    extern "C" HOSTD_EXPORT const hostd_type_descriptor* hostd_plugin_entry(void) {                 \
        static const char* const requires_[] = {__VA_ARGS__ __VA_OPT__(, ) nullptr};               \
        static ::hostd::detail::Holder<CLASS> holder_;                                              \
        static const hostd_type_descriptor descriptor_ = {                                          \
            HOSTD_ABI_MAJOR, HOSTD_ABI_MINOR, sizeof(hostd_type_descriptor), 0,                     \
            VERSION, DESCRIPTION, requires_, &holder_,                                              \
            &::hostd::detail::Holder<CLASS>::onStart, &::hostd::detail::Holder<CLASS>::onStop,      \
            &::hostd::detail::Holder<CLASS>::onReload};                                             \
        return &descriptor_;                                                                        \
    }

#endif  // HOSTD_PLUGIN_HPP
