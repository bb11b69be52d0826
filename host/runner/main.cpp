// hostd-runner: the process one isolated plugin runs in (isolation = process). hostd spawns it
// with the socket on fd 3, pipes on fds 1 and 2, and its own pid as the only argument, possibly
// before it knows which plugin it is for (a spare); the plugin's private copy comes with the Load
// message (SCM_RIGHTS) and is moved to fd 4. See RunnerProtocol.h for what is said on the socket.
//
// The runner never opens the operator's file and decides nothing: it loads what it is given,
// runs the calls it is sent, one at a time, and turns the plugin's services into messages. It
// dies with hostd (PR_SET_PDEATHSIG, and the parent is checked after setting it), and whatever
// a plugin does to this process (exit, crash, close descriptors, hang) ends here; hostd reads
// it from the runner's exit.

#include "Confine.h"
#include "ConfigLookup.h"
#include "DescriptorCheck.h"
#include "RunnerProtocol.h"

#include <hostd/plugin.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <mutex>
#include <set>
#include <string>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace hostd::runner;

constexpr int kExitSocketLost = 121;

std::atomic<bool> gStopping{false};
std::atomic<bool> gCallRunning{false};
std::string gName;
const hostd_type_descriptor* gDescriptor = nullptr;
void* gHandle = nullptr;
Confinement gConfinement;
std::string gConfineError;  // what failed to confine the runner: the load is refused with it

/// Sends one message; a plugin thread may call it too (a whole message is one send). A peer
/// gone (hostd exited) ends the runner.
void send(const Writer& w) {
    for (;;) {
        if (::send(kSocketFd, w.bytes().data(), w.bytes().size(), MSG_NOSIGNAL) >= 0) return;
        if (errno == EINTR) continue;
        if (errno == EBADF || errno == ENOTSOCK) {  // hostd reads this on the runner's stderr
            static const char kWhy[] = "hostd-runner: the plugin closed or replaced the runner's socket (fd 3)\n";
            (void)!::write(2, kWhy, sizeof kWhy - 1);
            ::_exit(kExitSocketLost);
        }
        ::_exit(0);  // hostd went away
    }
}

[[noreturn]] void fatal(const char* what) {
    std::fprintf(stderr, "hostd-runner: %s: %s\n", what, std::strerror(errno));
    ::_exit(120);
}

// The services, as a plugin in hostd's own process gets them (Plugin.cpp there).
void cbLog(const hostd_type_context*, hostd_type_log_level level, const char* msg, size_t len) {
    if (msg == nullptr) return;
    send(Writer(Type::Log, 0, static_cast<std::int32_t>(level)).str({msg, std::min(len, kMaxLogText)}));
}

int cbIsStopping(const hostd_type_context*) { return gStopping.load() ? 1 : 0; }

hostd_type_result cbConfigGet(const hostd_type_config* config, const char* key, size_t keyLen, hostd_type_str* out) {
    return hostd::lookupConfig(config, key, keyLen, out);
}

void cbReportFailure(const hostd_type_context*, const char* msg, size_t len) {
    send(Writer(Type::ReportFailure).str(msg != nullptr ? std::string_view(msg, std::min(len, kMaxLogText)) : ""));
}

void cbThreadTag(const hostd_type_context*, const char* name, size_t len) {
    std::string tag(name != nullptr ? std::string_view(name, std::min<size_t>(len, 15)) : "");
    ::prctl(PR_SET_NAME, tag.c_str());
}

const hostd_type_services kServices = {
    sizeof(hostd_type_services), 0, &cbLog, &cbIsStopping, &cbConfigGet, &cbReportFailure, &cbThreadTag,
};
hostd_type_context gContext{};

/// Load: dlopen the image hostd gave, check its descriptor, say what it is.
void load(Reader& in) {
    gName = std::string(in.str());
    gContext = {sizeof(hostd_type_context), 0, {gName.c_str(), gName.size()}, &kServices, nullptr};
    std::string path = "/proc/self/fd/" + std::to_string(kImageFd);
    gHandle = gConfineError.empty() ? ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL) : nullptr;
    std::string why;
    if (!gConfineError.empty()) {
        why = "cannot confine its runner: " + gConfineError;
    } else if (gHandle == nullptr) {
        const char* e = ::dlerror();
        why = std::string("dlopen failed: ") + (e != nullptr ? e : "unknown error");
    } else if (void* sym = ::dlsym(gHandle, HOSTD_ENTRY_SYMBOL); sym == nullptr) {
        why = std::string("no symbol ") + HOSTD_ENTRY_SYMBOL + " (not a hostd plugin, or built without HOSTD_EXPORT)";
    } else {
        gDescriptor = reinterpret_cast<hostd_type_entry_fn>(sym)();
        why = hostd::descriptorProblem(gDescriptor);
        if (why.empty()) why = installFilter(gConfinement);  // after the load, before any call
    }
    if (!why.empty()) {
        gDescriptor = nullptr;  // hostd ends this runner
        send(Writer(Type::Loaded, 0, 1).str(why));
        return;
    }
    Writer w(Type::Loaded);
    w.str(gDescriptor->version != nullptr ? gDescriptor->version : "").u64(gDescriptor->reload != nullptr ? 1 : 0);
    std::vector<std::string_view> required;
    for (const char* const* r = gDescriptor->requires_plugins; r != nullptr && *r != nullptr; ++r) required.emplace_back(*r);
    w.u64(required.size());
    for (auto r : required) w.str(r);
    send(w);
}

/// One call as received, run on the call thread.
struct Call {
    std::uint32_t id = 0;
    CallKind kind = CallKind::Start;
    std::vector<std::string> strings;  // keys and values, alternating
    std::int64_t deadlineNs = 0;
};

void run(const Call& call) {
    std::vector<hostd_type_config_entry> entries;
    for (std::size_t i = 0; i + 1 < call.strings.size(); i += 2)
        entries.push_back({{call.strings[i].data(), call.strings[i].size()}, {call.strings[i + 1].data(), call.strings[i + 1].size()}});
    hostd_type_config config{entries.data(), entries.size()};
    char buf[1024] = "";
    hostd_type_message message{buf, sizeof buf};
    hostd_type_result result = HOSTD_ERR_FAILED;
    const hostd_type_descriptor* d = gDescriptor;
    try {
        switch (call.kind) {
        case CallKind::Start: result = d->start(d->instance, &gContext, &config, &message); break;
        case CallKind::Reload:
            result = d->reload != nullptr ? d->reload(d->instance, &gContext, &config, &message) : HOSTD_OK;
            break;
        case CallKind::Stop: result = d->stop(d->instance, &gContext, call.deadlineNs, &message); break;
        }
    } catch (...) {
        result = HOSTD_ERR_EXCEPTION;
        std::snprintf(buf, sizeof buf, "%s", "exception escaped the plugin's C ABI callback");
    }
    buf[sizeof buf - 1] = '\0';
    send(Writer(Type::CallDone, call.id, static_cast<std::int32_t>(result)).str(buf));
}

/// Runs calls in order on a thread of their own, so that the socket is still read while one
/// runs (SetStopping during a start; hostd gone).
class CallThread {
public:
    void post(Call call) {
        std::lock_guard lock(_mutex);
        _calls.push_back(std::move(call));
        _wake.notify_one();
    }

private:
    void loop() {
        for (;;) {
            Call call;
            {
                std::unique_lock lock(_mutex);
                _wake.wait(lock, [this] { return !_calls.empty(); });
                call = std::move(_calls.front());
                _calls.pop_front();
                gCallRunning = true;
            }
            run(call);
            gCallRunning = false;
        }
    }
    std::mutex _mutex;
    std::condition_variable _wake;
    std::deque<Call> _calls;
    std::thread _thread{[this] { loop(); }};
};

Call parseCall(Reader& in) {
    Call call;
    call.id = in.header().id;
    call.kind = static_cast<CallKind>(in.header().code);
    if (call.kind == CallKind::Stop) {
        call.deadlineNs = static_cast<std::int64_t>(in.u64());
        return call;
    }
    std::uint64_t n = in.u64();
    for (std::uint64_t i = 0; i < n && !in.bad(); ++i) {
        call.strings.emplace_back(in.str());
        call.strings.emplace_back(in.str());
    }
    return call;
}

/// One message from hostd into buf, and the descriptor it carried (Load: the plugin's private
/// copy) in fd, or -1; lost says whether one came that the runner had no room for.
ssize_t receive(std::vector<char>& buf, int& fd, bool& lost) {
    iovec iov{buf.data(), buf.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(kSocketFd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) return n;
    lost = (msg.msg_flags & MSG_CTRUNC) != 0;  // no descriptor left for it (rlimit_nofile)
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
            std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return n;
}

/// Ends what the plugin forked and left, however it left: the runner is the subreaper of what
/// it forks, so a process whose parent ended (a daemon's fork, setsid, fork) becomes the
/// runner's child, and is listed and killed here in turn, until none is left. Says so on
/// stderr, which hostd logs as the plugin's.
void endWhatThePluginLeft() {
    std::set<long> ended;
    for (int round = 0; round < 1000; ++round) {  // bounded: what forks faster than it is killed is hostd's to end
        bool killed = false;
        if (DIR* tasks = ::opendir("/proc/self/task")) {
            while (const dirent* task = ::readdir(tasks)) {
                if (task->d_name[0] == '.') continue;
                std::string path = std::string("/proc/self/task/") + task->d_name + "/children";
                FILE* children = std::fopen(path.c_str(), "re");
                if (children == nullptr) continue;
                for (long pid = 0; std::fscanf(children, "%ld", &pid) == 1;)
                    if (::kill(static_cast<pid_t>(pid), SIGKILL) == 0) killed = ended.insert(pid).second || killed;
                std::fclose(children);
            }
            ::closedir(tasks);
        }
        // __WALL: a child cloned with another exit signal than SIGCHLD is reaped too. Blocking
        // only while one just killed is on its way; none left (ECHILD) or none killable: done.
        pid_t reaped = ::waitpid(-1, nullptr, __WALL | (killed ? 0 : WNOHANG));
        if (reaped < 0 ? errno != EINTR : reaped == 0) break;
    }
    if (ended.empty()) return;
    std::string pids;
    for (long pid : ended) pids += " " + std::to_string(pid);
    std::fprintf(stderr, "hostd-runner: ended what the plugin left running (plugin.h: reap what you fork):%s\n", pids.c_str());
}

}  // namespace

// In a sanitizer build, a plugin's crash must still end the runner by its signal, which is what
// hostd reports ("crashed (SIGSEGV) in start"), not by the sanitizer's exit status 1; and a
// plugin's exit() must not run the leak check, which needs ptrace (the filter refuses it) and
// would report the plugin's leaks, not the runner's.
extern "C" __attribute__((visibility("default"), used)) const char* __asan_default_options() {
    return "handle_segv=0:handle_sigbus=0:handle_abort=0:handle_sigill=0:handle_sigfpe=0:detect_leaks=0";
}

extern "C" __attribute__((visibility("default"), used)) const char* __tsan_default_options() {
    return "handle_segv=0:handle_sigbus=0:handle_abort=0:handle_sigill=0:handle_sigfpe=0";
}

int main(int argc, char** argv) {
    ::prctl(PR_SET_NAME, "hostd-runner");  // spawned as /proc/self/fd/N, it would be named "N"
    // Dies with hostd; if hostd is already gone, the parent is init (or a subreaper) by now.
    if (argc < 2 || argc > 3 || ::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fatal("usage: hostd-runner PARENT_PID [spare] (started by hostd)");
    if (std::to_string(::getppid()) != argv[1]) ::_exit(0);
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);  // what the plugin forks and orphans stays ours to end
    ::close_range(kImageFd, ~0U, 0);  // nothing of hostd's beyond what was given (the image comes with Load)
    send(Writer(Type::Hello).u64(kProtocolVersion).u64(HOSTD_ABI_MAJOR).u64(HOSTD_ABI_MINOR).u64(static_cast<std::uint64_t>(::getpid())));
    // A spare waits for a plugin yet unknown: most are C++, and loading their runtime now takes
    // it off the load's path (a C plugin's runner just has it mapped). Failing is no matter.
    if (argc == 3 && std::strcmp(argv[2], "spare") == 0) (void)::dlopen("libstdc++.so.6", RTLD_NOW | RTLD_LOCAL);
    CallThread* calls = nullptr;  // started after the load: the constructors run alone
    std::vector<char> buf(kMaxMessage);
    for (;;) {
        int fd = -1;
        bool lost = false;
        ssize_t n = receive(buf, fd, lost);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // hostd closed it: unload, or hostd went away
        Reader in(buf.data(), static_cast<std::size_t>(n));
        bool image = in.type() == Type::Load && fd >= 0 && gHandle == nullptr &&
                     (fd == kImageFd || ::dup3(fd, kImageFd, O_CLOEXEC) == kImageFd);
        if (fd >= 0 && !(image && fd == kImageFd)) ::close(fd);  // nothing is kept but the image
        switch (in.type()) {
        case Type::Load:
            if (gDescriptor == nullptr && gHandle == nullptr) {
                if (image) load(in);
                else send(Writer(Type::Loaded, 0, 1).str(lost ? "the runner could not receive the plugin's image: no descriptor "
                                                                        "left for it (rlimit_nofile too low?)"
                                                             : "the runner could not take the plugin's image"));
            }
            if (gDescriptor != nullptr && calls == nullptr) calls = new CallThread;  // lives until _exit
            break;
        case Type::Call:
            if (calls != nullptr && !in.bad()) calls->post(parseCall(in));
            break;
        case Type::SetStopping: gStopping = in.header().code != 0; break;
        case Type::Confine:
            if (gDescriptor == nullptr && gHandle == nullptr) {
                gConfinement = Confinement::read(in);
                gConfineError = in.bad() ? "a bad Confine message" : confineBeforeLoad(gConfinement);
            }
            break;
        default: break;
        }
    }
    // Unloaded: the plugin's destructors run, unless a call still runs its code (hostd gave up
    // on it). No static destructors of the runner's own: _exit.
    if (gHandle != nullptr && !gCallRunning) ::dlclose(gHandle);
    endWhatThePluginLeft();
    ::_exit(0);
}
