#include "Lifecycle.h"

#include "MiniHost.h"
#include "ProcessState.h"
#include "StaticChecks.h"
#include "UniqueFd.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

namespace hostd::check {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// Budget of the checks that do not call the plugin (they poll /proc for a short while).
constexpr milliseconds kBookkeepingBudget{5000};
/// How long threads get to disappear after stop: a joined thread can linger in /proc for an
/// instant after pthread_join returns.
constexpr milliseconds kThreadGrace{500};

double msSince(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string resultName(hostd_type_result rc) {
    switch (rc) {
    case HOSTD_OK: return "HOSTD_OK";
    case HOSTD_ERR_FAILED: return "HOSTD_ERR_FAILED";
    case HOSTD_ERR_CONFIG: return "HOSTD_ERR_CONFIG";
    case HOSTD_ERR_EXCEPTION: return "HOSTD_ERR_EXCEPTION";
    case HOSTD_ERR_UNAVAILABLE: return "HOSTD_ERR_UNAVAILABLE";
    case HOSTD_ERR_NOT_FOUND: return "HOSTD_ERR_NOT_FOUND";
    }
    return "result " + std::to_string(static_cast<int>(rc));
}

/// What a callback returned, and how long it took.
struct CallOutcome {
    hostd_type_result rc = HOSTD_OK;
    std::string message;
    double ms = 0;

    std::string describe() const { return resultName(rc) + (message.empty() ? "" : ": " + message); }
};

template <class F>
CallOutcome timedCall(F&& callback) {
    char buf[1024] = {0};
    hostd_type_message message{buf, sizeof buf};
    auto t0 = Clock::now();
    CallOutcome out;
    out.rc = callback(&message);
    out.ms = msSince(t0);
    buf[sizeof buf - 1] = '\0';  // a plugin that filled the buffer without terminating it
    out.message = buf;
    return out;
}

/// The plugin image, loaded from a private memfd copy as hostd loads it (DESIGN.md section 3).
/// Never dlclosed implicitly: unloading an image a plugin thread still runs in would crash.
class Image {
public:
    std::string open(const std::string& path, const std::string& name);
        /// Copies path into a memfd and dlopens it. Returns an error text, empty on success.

    void* handle() const noexcept { return _handle; }
    int memfd() const noexcept { return _memfd.get(); }

    bool unload();
        /// dlcloses and returns true if the image is really gone: not in /proc/self/maps, and
        /// dlopen(RTLD_NOLOAD) of its name fails.

    void closeMemfd() noexcept { _memfd.reset(); }

private:
    UniqueFd _memfd;
    std::string _memfdName;
    std::string _procPath;
    void* _handle = nullptr;
};

std::string Image::open(const std::string& path, const std::string& name) {
    UniqueFd src(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!src) return "cannot open " + path + ": " + std::strerror(errno);
    _memfdName = "hostd-plugin-check:" + name + ".so";
    _memfd = UniqueFd(::memfd_create(_memfdName.c_str(), MFD_CLOEXEC));
    if (!_memfd) return std::string("memfd_create: ") + std::strerror(errno);
    char buf[1 << 16];
    for (ssize_t n; (n = ::read(src.get(), buf, sizeof buf)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 || ::write(_memfd.get(), buf, static_cast<std::size_t>(n)) != n)
            return std::string("copying the file: ") + std::strerror(errno);
    }
    _procPath = "/proc/self/fd/" + std::to_string(_memfd.get());
    ::dlerror();
    _handle = ::dlopen(_procPath.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (_handle != nullptr) return "";
    std::string error = ::dlerror();
    if (auto pos = error.find(_procPath + ": "); pos != std::string::npos) error.erase(pos, _procPath.size() + 2);
    return error;
}

bool Image::unload() {
    ::dlclose(_handle);
    _handle = nullptr;
    void* still = ::dlopen(_procPath.c_str(), RTLD_NOW | RTLD_NOLOAD);
    if (still != nullptr) ::dlclose(still);  // drop the reference RTLD_NOLOAD just took
    return still == nullptr && !mapsContain("/memfd:" + _memfdName);
}

/// The checks of one plugin's life, in the order hostd would drive it.
class Lifecycle {
public:
    Lifecycle(const LifecycleOptions& options, ChildChannel& channel)
        : _options(options), _channel(channel), _host(options.name, options.config, channel) {}

    void run() {
        prepareLikeHostd();
        _before = ProcessState::capture();
        const hostd_type_descriptor* d = load() ? checkAbi() : nullptr;
        bool started = d != nullptr && start(*d);
        if (started) {
            reload(*d);
            stop(*d);
        } else {
            std::string why = d == nullptr ? "not run: the plugin did not load" : "not run: start failed";
            _channel.result("reload", Status::Skip, why);
            _channel.result("stop", Status::Skip, why);
        }
        bool threadsGone = checkThreads();
        bool unloaded = unload(threadsGone);
        checkPthreadKeys();
        checkFds(unloaded);
    }

private:
    void prepareLikeHostd() {
        // hostd blocks these in every thread (DESIGN.md section 1); plugin threads inherit it.
        sigset_t set;
        sigemptyset(&set);
        for (int sig : {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD}) sigaddset(&set, sig);
        ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
        // The C++ runtime sets up its thread support on first use; do it now so that one-time
        // setup is part of the baseline, not blamed on the plugin.
        std::thread([] {}).join();
        // The same for the libraries the plugin needs: what they allocate when loaded (Poco
        // creates a pthread key, for one) is theirs, and they stay loaded after the plugin goes.
        // A library found only through $ORIGIN is not preloaded, so the load fails as in hostd.
        for (const std::string& name : _options.needed) {
            std::string ignored;  // the load check reports a missing library
            openLibrary(name, _options.searchDirs, ignored);
        }
    }

    bool load() {
        _channel.phase("load", _options.startTimeout);
        auto t0 = Clock::now();
        std::string error = _image.open(_options.path, _options.name);
        if (!error.empty()) {
            _channel.result("load", Status::Fail, "dlopen failed: " + error, msSince(t0));
            return false;
        }
        _channel.result("load", Status::Pass, "loaded from a private memfd copy with RTLD_NOW | RTLD_LOCAL", msSince(t0));
        return true;
    }

    const hostd_type_descriptor* checkAbi() {
        _channel.phase("abi-version", _options.startTimeout);
        auto fail = [&](const std::string& why) {
            _channel.result("abi-version", Status::Fail, why);
            return nullptr;
        };
        void* sym = ::dlsym(_image.handle(), HOSTD_ENTRY_SYMBOL);
        if (sym == nullptr) return fail(std::string("no symbol ") + HOSTD_ENTRY_SYMBOL + " to call");
        const hostd_type_descriptor* d = reinterpret_cast<hostd_type_entry_fn>(sym)();
        if (d == nullptr) return fail(std::string(HOSTD_ENTRY_SYMBOL) + " returned no descriptor");
        std::string theirs = std::to_string(d->abi_major) + "." + std::to_string(d->abi_minor);
        std::string ours = std::to_string(HOSTD_ABI_MAJOR) + "." + std::to_string(HOSTD_ABI_MINOR);
        if (d->abi_major != HOSTD_ABI_MAJOR)
            return fail("plugin ABI " + theirs + ", this SDK is " + ours + ": the major differs; rebuild against this SDK");
        if (d->abi_minor > HOSTD_ABI_MINOR)
            return fail("plugin ABI " + theirs + " is newer than this SDK (" + ours + "); hostd " + ours + " refuses it");
        if (d->size < offsetof(hostd_type_descriptor, reload) + sizeof(d->reload))
            return fail("descriptor too small (" + std::to_string(d->size) + " bytes) for ABI " + theirs);
        if (d->start == nullptr || d->stop == nullptr) return fail("descriptor lacks a start or stop callback");
        std::string about = "ABI " + theirs + " (this SDK: " + ours + "), version " + (d->version ? d->version : "?");
        std::vector<std::string> requires_;
        for (const char* const* r = d->requires_plugins; r != nullptr && *r != nullptr; ++r) requires_.emplace_back(*r);
        if (!requires_.empty()) about += ", requires " + listNames(requires_) + " (not started here)";
        _channel.result("abi-version", Status::Pass, about);
        return d;
    }

    bool start(const hostd_type_descriptor& d) {
        _channel.phase("start", _options.startTimeout);
        CallOutcome out = timedCall([&](hostd_type_message* m) { return d.start(d.instance, _host.context(), _host.config(), m); });
        _threadsWhileRunning = static_cast<long>(currentThreads().size()) - static_cast<long>(_before.threads.size());
        reportCall("start", out, _options.startTimeout, "start_timeout");
        return out.rc == HOSTD_OK;  // running, even if late: stop it, so the rest can be checked
    }

    void reload(const hostd_type_descriptor& d) {
        if (d.reload == nullptr) {
            _channel.result("reload", Status::Skip, "no reload callback: hostd accepts configuration changes silently");
            return;
        }
        _channel.phase("reload", _options.reloadTimeout);
        CallOutcome out = timedCall([&](hostd_type_message* m) { return d.reload(d.instance, _host.context(), _host.config(), m); });
        reportCall("reload", out, _options.reloadTimeout, "reload_timeout");
    }

    void stop(const hostd_type_descriptor& d) {
        _channel.phase("stop", _options.stopTimeout);
        _host.beginStopping();
        auto deadline = Clock::now() + _options.stopTimeout;
        auto deadlineNs = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
        CallOutcome out = timedCall([&](hostd_type_message* m) { return d.stop(d.instance, _host.context(), deadlineNs, m); });
        reportCall("stop", out, _options.stopTimeout, "stop_timeout");
    }

    void reportCall(const char* id, const CallOutcome& out, milliseconds budget, const char* key) {
        if (out.rc != HOSTD_OK)
            _channel.result(id, Status::Fail, "returned " + out.describe(), out.ms);
        else if (out.ms > static_cast<double>(budget.count()))
            _channel.result(id, Status::Fail,
                            "returned after " + std::to_string(static_cast<long long>(out.ms)) + " ms, past its " + key +
                                " of " + std::to_string(budget.count()) + " ms: hostd would abandon the plugin and never unload it",
                            out.ms);
        else
            _channel.result(id, Status::Pass, "returned " + out.describe(), out.ms);
    }

    bool checkThreads() {
        _channel.phase("threads", kBookkeepingBudget);
        std::vector<int> left;
        auto until = Clock::now() + kThreadGrace;
        do {
            left.clear();
            for (int tid : currentThreads())
                if (!_before.threads.count(tid)) left.push_back(tid);
            if (left.empty()) break;
            std::this_thread::sleep_for(milliseconds(5));
        } while (Clock::now() < until);
        if (left.empty()) {
            _channel.result("threads", Status::Pass,
                            _threadsWhileRunning > 0 ? std::to_string(_threadsWhileRunning) + " thread(s) started, all gone after stop"
                                                     : "no thread left behind");
            return true;
        }
        std::vector<std::string> names;
        for (int tid : left) names.push_back("'" + threadName(tid) + "' (tid " + std::to_string(tid) + ")");
        _channel.result("threads", Status::Fail,
                        std::to_string(left.size()) + " thread(s) still running after stop: " + listNames(names) +
                            "; hostd unmaps the plugin right after stop, so they would crash it. Join every thread in stop");
        return false;
    }

    bool unload(bool threadsGone) {
        if (_image.handle() == nullptr) {
            _channel.result("unload", Status::Skip, "not run: the plugin did not load");
            return false;
        }
        if (!threadsGone) {
            _channel.result("unload", Status::Skip, "not run: unmapping code a plugin thread still runs would crash");
            return false;
        }
        _channel.phase("unload", _options.stopTimeout);
        auto t0 = Clock::now();
        if (_image.unload()) {
            _channel.result("unload", Status::Pass, "dlclose unmapped the image", msSince(t0));
            return true;
        }
        _channel.result("unload", Status::Fail,
                        "the image is still mapped after dlclose (STB_GNU_UNIQUE symbols, a thread_local with a "
                        "destructor used on a host thread, or RTLD_NODELETE): an upgrade would keep running the old code",
                        msSince(t0));
        return false;
    }

    void checkPthreadKeys() {
        _channel.phase("pthread-keys", kBookkeepingBudget);
        int next = nextPthreadKey();
        if (next == _before.nextPthreadKey)
            _channel.result("pthread-keys", Status::Pass, "no pthread key left allocated");
        else
            _channel.result("pthread-keys", Status::Warn,
                            "a pthread key the plugin created is still allocated; if it has a destructor, the host "
                            "crashes when a thread exits after the unload. Call pthread_key_delete in stop");
    }

    void checkFds(bool unloaded) {
        _channel.phase("fds", kBookkeepingBudget);
        int keptMemfd = -1;
        if (unloaded) _image.closeMemfd();
        else keptMemfd = _image.memfd();  // glibc still knows the image by this fd's name
        std::map<int, std::string> now = currentFds();
        std::vector<std::string> opened, closed;
        for (const auto& [fd, target] : now)
            if (fd != keptMemfd && !_before.fds.count(fd)) opened.push_back("fd " + std::to_string(fd) + " -> " + target);
        for (const auto& [fd, target] : _before.fds)
            if (!now.count(fd)) closed.push_back("fd " + std::to_string(fd) + " (" + target + ")");
        if (!opened.empty())
            _channel.result("fds", Status::Fail,
                            std::to_string(opened.size()) + " descriptor(s) left open: " + listNames(opened) +
                                "; close everything the plugin opened in stop (and open with O_CLOEXEC)");
        else if (!closed.empty())
            _channel.result("fds", Status::Fail, "closed descriptor(s) it did not open: " + listNames(closed));
        else
            _channel.result("fds", Status::Pass, "no descriptor left open");
    }

    const LifecycleOptions& _options;
    ChildChannel& _channel;
    MiniHost _host;
    Image _image;
    ProcessState _before;
    long _threadsWhileRunning = 0;
};

}  // namespace

void runLifecycle(const LifecycleOptions& options, ChildChannel& channel) { Lifecycle(options, channel).run(); }

}  // namespace hostd::check
