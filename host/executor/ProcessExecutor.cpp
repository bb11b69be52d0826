#include "ProcessExecutor.h"

#include "Log.h"
#include "StatusBoard.h"
#include "RunnerConfinement.h"
#include "RunnerProcess.h"
#include "RunnerProtocol.h"
#include "RunnerState.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3  // waitid on a pidfd (Linux 5.4); linux/wait.h clashes with sys/wait.h
#endif

#ifndef HOSTD_LIBEXECDIR
#define HOSTD_LIBEXECDIR "/usr/libexec"
#endif

namespace hostd {

namespace proto = runner;

namespace {

using Runner = ProcessExecutor::Runner;
using runnerstate::killAndReap;
using runnerstate::killGroup;

/// Code loaded in a runner; keeps its copy to spawn the next runner from after one ended.
class RunnerCode : public PluginCode {
public:
    const std::string& content() const noexcept override { return file.content; }
    const std::string& version() const noexcept override { return runner->version; }
    const std::vector<std::string>& dependencies() const noexcept override { return runner->dependencies; }
    bool hasReload() const noexcept override { return runner->hasReload; }
    std::uint64_t size() const noexcept override { return file.size; }
    std::uint64_t heldBytes() const noexcept override { return file.copied; }
    Clock::duration loadDuration() const noexcept override { return took; }
    bool isolated() const noexcept override { return true; }
    pid_t runnerPid() const noexcept override { return runner->alive ? runner->pid : 0; }

    PluginFile file;
    std::shared_ptr<Runner> runner;
    Millis loadTimeout{};
    Clock::duration took{};
};


std::string signalText(int sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}



Level logLevelOf(std::int32_t level) {
    return static_cast<Level>(std::clamp(level, static_cast<std::int32_t>(Level::Error), static_cast<std::int32_t>(Level::Debug)));
}

proto::CallKind kindOf(PluginCall call) {
    switch (call) {
    case PluginCall::Start: return proto::CallKind::Start;
    case PluginCall::Reload: return proto::CallKind::Reload;
    case PluginCall::Stop: return proto::CallKind::Stop;
    }
    return proto::CallKind::Start;
}

}  // namespace

ProcessExecutor::ProcessExecutor(std::string runnerPath, Failed onFailed, Configuration config)
    : _runnerPath(std::move(runnerPath)),
      _onFailed(std::move(onFailed)),
      _config(std::move(config)),
      _epoll(::epoll_create1(EPOLL_CLOEXEC)),
      _wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      _epollWatch(_epoll.get(), "the isolated plugins' epoll") {
    if (!_epoll || !_wake) throw std::system_error(errno, std::generic_category(), "isolated plugins' epoll");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = _wake.get();
    if (::epoll_ctl(_epoll.get(), EPOLL_CTL_ADD, _wake.get(), &ev) != 0)
        throw std::system_error(errno, std::generic_category(), "epoll_ctl");
}

ProcessExecutor::~ProcessExecutor() {
    for (auto& [raw, r] : _runners) killAndReap(*r);
    dropSpare();
}

std::shared_ptr<Runner> ProcessExecutor::spawn(const std::string& plugin, int memfd, Millis timeout) {
    proto::Writer confine(proto::Type::Confine);
    Confinement confinement = confinementOf(plugin);
    std::vector<std::string> unknown;
    resolveConfinement(confinement, unknown).write(confine);  // refused before any runner is spent
    for (const auto& name : unknown)
        HOSTD_LOG(Warning, plugin, "seccomp_allow names a system call this system does not know; skipped", {"syscall", name});
    auto rp = takeSpare();
    Runner& r = *rp;
    r.plugin = plugin;
    r.confinement = std::move(confinement);
    auto deadline = Clock::now() + timeout;
    auto endRunner = [&](const std::string& why) {  // the load's refusal, once its runner is ended
        killGroup(r, SIGKILL);
        ended(r);
        return LoadError(why);
    };
    // Sent at once, without waiting for its Hello: the runner reads them after it said hello,
    // and a runner that speaks another protocol is killed on its Hello before it says Loaded.
    proto::Writer stopping(proto::Type::SetStopping, 0, _stopping ? 1 : 0);
    proto::Writer load(proto::Type::Load);
    load.str(plugin);
    if (::send(r.socket.get(), stopping.bytes().data(), stopping.bytes().size(), MSG_NOSIGNAL) < 0 ||
        ::send(r.socket.get(), confine.bytes().data(), confine.bytes().size(), MSG_NOSIGNAL) < 0 ||
        !sendWithDescriptor(r.socket.get(), load.bytes(), memfd))
        throw endRunner("runner: " + std::string(std::strerror(errno)));
    bool greeted = waitFor(r, deadline, [&] { return r.greeted; });
    if (greeted && waitFor(r, deadline, [&] { return r.loaded; })) {
        if (!r.loadError.empty()) throw endRunner(r.loadError);
        watch(rp);
        _runners[&r] = rp;
        StatusBoard::instance().runnerStarted(plugin, r.pid);
        // The next isolated load takes a runner already started (spawn, exec and dynamic linking
        // off its path): spawned in a later turn of the loop, once no start runs (takeCompleted).
        _spareWanted = true;
        std::uint64_t one = 1;
        (void)::write(_wake.get(), &one, sizeof one);
        return rp;
    }
    if (!r.alive) throw LoadError("its runner " + r.how + (greeted ? " while loading the plugin" : ""));
    if (!greeted) throw endRunner("its runner did not start within load_timeout");
    r.killedWhy = "killed: its load did not return within load_timeout (" + formatDuration(timeout) + ")";  // said below
    throw endRunner("plugin code did not return from its load within load_timeout (" + formatDuration(timeout) +
                    "); its runner was killed");
}

bool ProcessExecutor::waitFor(Runner& r, Clock::time_point deadline, const std::function<bool()>& done) {
    while (!done()) {
        if (!r.alive) return false;
        auto left = std::chrono::ceil<Millis>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd fds[] = {{r.socket.get(), POLLIN, 0}, {r.out.get(), POLLIN, 0}, {r.err.get(), POLLIN, 0}, {r.pidfd.get(), POLLIN, 0}};
        int n = ::poll(fds, 4, static_cast<int>(std::min<long long>(left, INT_MAX)));
        if (n < 0 && errno != EINTR) return false;
        if (fds[0].revents != 0) readSocket(r, INT_MAX);
        if (fds[1].revents != 0) readOutput(r, false);
        if (fds[2].revents != 0) readOutput(r, true);
        if (fds[3].revents != 0 && !done()) ended(r);
    }
    return true;
}

void ProcessExecutor::readSocket(Runner& r, int budget) {
    char buf[proto::kMaxMessage];
    for (int i = 0; i < budget && r.socket; ++i) {
        ssize_t n = ::recv(r.socket.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // nothing more now; an EOF is read as the runner's end, on its pidfd
        proto::Reader in(buf, static_cast<std::size_t>(n));
        switch (in.type()) {
        case proto::Type::Hello: {
            std::uint64_t version = in.u64();
            if (version != proto::kProtocolVersion) {
                r.killedWhy = "speaks runner protocol " + std::to_string(version) + ", hostd " +
                              std::to_string(proto::kProtocolVersion) + ": install hostd and hostd-runner from one build";
                killGroup(r, SIGKILL);
            } else {
                r.greeted = true;
            }
            break;
        }
        case proto::Type::Loaded:
            if (in.header().code != 0) {
                r.loadError = std::string(in.str());
            } else {
                r.version = std::string(in.str());
                r.hasReload = in.u64() != 0;
                for (std::uint64_t k = 0, count = in.u64(); k < count && !in.bad(); ++k) r.dependencies.emplace_back(in.str());
            }
            r.loaded = !in.bad();
            break;
        case proto::Type::CallDone:
            if (r.callId != 0 && in.header().id == r.wireId) {
                CallResult result{static_cast<hostd_type_result>(in.header().code), std::string(in.str()), Clock::now() - r.callStarted};
                complete(std::exchange(r.callId, 0), std::move(result));
            }
            break;
        case proto::Type::Log: Log::writePluginLine(logLevelOf(in.header().code), r.plugin, in.str()); break;
        case proto::Type::Violation: r.violation = syscallName(in.header().code); break;
        case proto::Type::ReportFailure:
            if (!r.unloading) _onFailed(r.plugin, std::string(in.str()), false);
            break;
        default: break;
        }
    }
}

void ProcessExecutor::readOutput(Runner& r, bool err) {
    UniqueFd& fd = err ? r.err : r.out;
    std::string& line = err ? r.errLine : r.outLine;
    auto flush = [&] {
        if (!line.empty()) Log::writePluginLine(err ? Level::Warning : Level::Info, r.plugin, (err ? "stderr: " : "stdout: ") + line);
        line.clear();
    };
    char buf[4096];
    for (int i = 0; i < 16 && fd; ++i) {  // 64 KB a turn: a flood does not hold the loop
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) flush();
        if (n <= 0) return;
        for (ssize_t k = 0; k < n; ++k) {
            if (buf[k] == '\n' || line.size() >= proto::kMaxLogText) flush();
            if (buf[k] != '\n') line += buf[k];
        }
    }
}

void ProcessExecutor::ended(Runner& r) {
    if (!r.alive) return;
    killGroup(r, SIGKILL);  // what it forked; before the reap, while its pid is still its group's
    siginfo_t info{};
    if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(r.pidfd.get()), &info, WEXITED) != 0) info.si_code = 0;
    r.alive = false;
    readSocket(r, INT_MAX);  // what it said last (a CallDone may have raced its end)
    readOutput(r, false);
    readOutput(r, true);
    if (!r.killedWhy.empty())
        r.how = r.killedWhy;
    else if (!r.violation.empty() && (info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED) && info.si_status == SIGSYS)
        r.how = "was killed by seccomp: " + r.violation;
    else if (info.si_code == CLD_EXITED)
        r.how = "exited with status " + std::to_string(info.si_status);
    else if (info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED)
        r.how = (info.si_status == SIGKILL ? "was killed (" : "crashed (") + signalText(info.si_status) + ")";
    else
        r.how = "ended";
    unwatch(r);
    if (_runners.count(&r) != 0) {  // it had started: counted by how it ended
        bool exited = info.si_code == CLD_EXITED;
        std::string how = r.unloading                                        ? "unloaded"
                          : !exited && !r.violation.empty() && info.si_status == SIGSYS ? "seccomp"
                          : !r.killedWhy.empty()                             ? "killed"
                          : exited                                           ? "exited"
                          : info.si_status == SIGKILL                        ? "killed"
                                                                             : "crashed";
        StatusBoard::instance().runnerEnded(r.plugin, r.pid, how);
    }
    auto self = _runners.count(&r) != 0 ? _runners[&r] : nullptr;  // keeps r alive to the end here
    _runners.erase(&r);
    if (_runners.empty() && _spare.get() != &r) dropSpare();  // no isolated plugin left: no spare either
    if (r.callId != 0) {
        std::string what = r.killedWhy.empty() ? "its runner " + r.how + " in " + callName(r.call) : "its runner was " + r.how;
        CallResult result{HOSTD_ERR_FAILED, std::move(what), Clock::now() - r.callStarted};
        complete(std::exchange(r.callId, 0), std::move(result));
    } else if (self && !r.unloading && r.loaded) {  // a runner that never took over (a refused load) fails no plugin
        _onFailed(r.plugin, "its runner " + r.how, true);
    }
}

void ProcessExecutor::watch(const std::shared_ptr<Runner>& r) {
    for (int fd : {r->socket.get(), r->out.get(), r->err.get(), r->pidfd.get()}) {
        _byFd[fd] = r;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        if (::epoll_ctl(_epoll.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
            throw LoadError("epoll_ctl: " + std::string(std::strerror(errno)));
    }
}

void ProcessExecutor::unwatch(Runner& r) {
    for (int fd : {r.socket.get(), r.out.get(), r.err.get(), r.pidfd.get()}) {
        ::epoll_ctl(_epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
        _byFd.erase(fd);
    }
}

void ProcessExecutor::complete(std::uint64_t id, CallResult result) {
    _done.emplace_back(id, std::move(result));
    std::uint64_t one = 1;
    (void)::write(_wake.get(), &one, sizeof one);
}

std::unique_ptr<PluginCode> ProcessExecutor::load(PluginFile file, Millis timeout) {
    auto started = Clock::now();
    auto code = std::make_unique<RunnerCode>();
    code->runner = spawn(file.name, file.memfd.get(), timeout);
    code->file = std::move(file);
    code->loadTimeout = timeout;
    code->took = Clock::now() - started;
    return code;
}

bool ProcessExecutor::unload(const std::string&, std::unique_ptr<PluginCode> code, Millis timeout) {
    if (!code) return true;
    retire(*static_cast<RunnerCode&>(*code).runner, timeout);
    return true;
}

Confinement ProcessExecutor::confinementOf(const std::string& plugin) const {
    ConfigPtr config = _config ? _config() : nullptr;
    const PluginSection* section = config ? config->plugin(plugin) : nullptr;
    return section != nullptr ? section->confinement : Confinement{};
}

void ProcessExecutor::retire(Runner& r, Millis timeout) {
    if (!r.alive) return;
    r.unloading = true;
    ::epoll_ctl(_epoll.get(), EPOLL_CTL_DEL, r.socket.get(), nullptr);
    _byFd.erase(r.socket.get());
    ::shutdown(r.socket.get(), SHUT_WR);  // its EOF: the plugin's destructors run, then it exits
    if (!waitFor(r, Clock::now() + timeout, [&] { return !r.alive; }) && r.alive) {
        HOSTD_LOG(Warning, r.plugin, "plugin code did not return from its unload within load_timeout; its runner is killed",
                  {"load_timeout", formatDuration(timeout)}, {"pid", std::to_string(r.pid)});
        r.killedWhy = "killed: its unload did not return within load_timeout";  // said above
        ended(r);
    }
}

std::uint64_t ProcessExecutor::call(PluginCall which, PluginCode& code, const CallRequest& request) {
    auto& rc = static_cast<RunnerCode&>(code);
    std::uint64_t id = _nextId++;
    if (which == PluginCall::Start && rc.runner->alive && rc.runner->confinement != confinementOf(rc.file.name)) {
        HOSTD_LOG(Info, rc.file.name, "its confinement changed; a new runner starts it", {"pid", std::to_string(rc.runner->pid)});
        retire(*rc.runner, rc.loadTimeout);
    }
    if (!rc.runner->alive && which == PluginCall::Start) {
        try {  // the plugin starts again after its runner ended: a fresh one, from the same copy
            rc.runner = spawn(rc.file.name, rc.file.memfd.get(), rc.loadTimeout);
        } catch (const LoadError& e) {
            complete(id, {HOSTD_ERR_UNAVAILABLE, std::string("cannot start a runner again: ") + e.what(), {}});
            return id;
        }
    }
    Runner& r = *rc.runner;
    if (!r.alive) {  // a stop has nothing left to stop: its code ended with its runner
        complete(id, {which == PluginCall::Stop ? HOSTD_OK : HOSTD_ERR_UNAVAILABLE, "its runner " + r.how, {}});
        return id;
    }
    std::uint32_t wire = ++_nextWireId;
    proto::Writer w(proto::Type::Call, wire, static_cast<std::int32_t>(kindOf(which)));
    if (which == PluginCall::Stop) {
        w.u64(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(request.deadline.time_since_epoch()).count()));
    } else {
        const PluginSection* section = request.config ? request.config->plugin(request.plugin) : nullptr;
        w.u64(section != nullptr ? section->settings.size() : 0);
        if (section != nullptr)
            for (const auto& s : section->settings) w.str(s.key).str(s.value);
    }
    if (!w.fits()) {
        complete(id, {HOSTD_ERR_CONFIG, "its configuration section is too large for an isolated plugin (" +
                                            std::to_string(w.bytes().size()) + " bytes; at most " +
                                            std::to_string(proto::kMaxMessage) + ")", {}});
        return id;
    }
    if (::send(r.socket.get(), w.bytes().data(), w.bytes().size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        complete(id, {HOSTD_ERR_UNAVAILABLE, "cannot reach its runner: " + std::string(std::strerror(errno)), {}});
        return id;
    }
    r.callId = id;
    r.wireId = wire;
    r.call = which;
    r.callStarted = Clock::now();
    return id;
}

std::vector<std::pair<std::uint64_t, CallResult>> ProcessExecutor::takeCompleted() {
    epoll_event events[32];
    int n = ::epoll_wait(_epoll.get(), events, 32, 0);
    for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == _wake.get()) {
            std::uint64_t count = 0;
            (void)::read(fd, &count, sizeof count);
            continue;
        }
        auto it = _byFd.find(fd);
        if (it == _byFd.end()) continue;  // its runner ended earlier in this batch
        std::shared_ptr<Runner> r = it->second;
        if (fd == r->socket.get())
            readSocket(*r, 64);  // a log burst waits for the next turn, the loop does not
        else if (fd == r->out.get() || fd == r->err.get())
            readOutput(*r, fd == r->err.get());
        else
            ended(*r);
    }
    // Not while a start runs: the spawn would compete with it for the CPUs. Its completion wakes
    // this again.
    if (_spareWanted && std::none_of(_runners.begin(), _runners.end(), [](const auto& r) {
            return r.second->callId != 0 && r.second->call == PluginCall::Start;
        }))
        startSpare();
    return std::exchange(_done, {});
}

void ProcessExecutor::abandon(std::uint64_t id) { (void)kill(id, "killed: its call was abandoned"); }

bool ProcessExecutor::kill(std::uint64_t id, const std::string& why) {
    for (auto& [raw, r] : _runners)
        if (r->callId == id) {
            if (r->killedWhy.empty()) r->killedWhy = why;
            killGroup(*r, SIGKILL);  // its end, read on its pidfd, completes the call
            return true;
        }
    return false;
}

void ProcessExecutor::setStopping(bool stopping) {
    _stopping = stopping;
    if (stopping) dropSpare();  // nothing more is loaded: no spare is left for the drain's end to find
    proto::Writer w(proto::Type::SetStopping, 0, stopping ? 1 : 0);
    for (auto& [raw, r] : _runners) (void)::send(r->socket.get(), w.bytes().data(), w.bytes().size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

}  // namespace hostd
