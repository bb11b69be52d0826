// Starting a hostd-runner process: see RunnerProcess.h.
#include "RunnerProcess.h"

#include "HostFds.h"
#include "PluginImage.h"
#include "RunnerProtocol.h"

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace hostd {

namespace proto = runner;

namespace {

/// A copy of fd at a number no lower than 10, so that the spawn's dup2s onto 1..3 never
/// overwrite one another's source.
UniqueFd highCopy(int fd) {
    UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 10));
    if (!copy) throw std::system_error(errno, std::generic_category(), "fcntl(F_DUPFD_CLOEXEC)");
    return copy;
}

/// The runner's environment: nothing of hostd's (NOTIFY_SOCKET, LISTEN_FDS, ...) but a PATH and
/// what the sanitizers and the C library read.
std::vector<std::string> runnerEnvironment() {
    std::vector<std::string> env{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
    for (const char* name : {"TZ", "LANG", "LC_ALL", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"})
        if (const char* v = std::getenv(name)) env.push_back(std::string(name) + "=" + v);
    return env;
}

UniqueFd& runnerFile() {
    static UniqueFd fd;
    return fd;
}

}  // namespace

void openRunnerFile() {
    if (runnerFile()) return;
    UniqueFd file(::open(runnerPath().c_str(), O_RDONLY | O_CLOEXEC));
    // Above the numbers a spawn gives the runner (0 to 4): exec reads /proc/self/fd/N after them.
    if (file) runnerFile().reset(::fcntl(file.get(), F_DUPFD_CLOEXEC, 10));
    // A plugin in hostd's process that closes it would leave isolated plugins unable to start.
    if (runnerFile()) static HostFds::Watched watch(runnerFile().get(), "hostd-runner's executable");
}

std::string runnerPath() {
    if (runnerFile()) return "/proc/self/fd/" + std::to_string(runnerFile().get());
    char self[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        std::string dir(self, static_cast<std::size_t>(n));
        dir.resize(dir.rfind('/') + 1);
        if (::access((dir + "hostd-runner").c_str(), X_OK) == 0) return dir + "hostd-runner";
    }
    return HOSTD_LIBEXECDIR "/hostd/hostd-runner";
}

RunnerProcess startRunner(const std::string& path, bool spare) {
    RunnerProcess p;
    int sv[2], out[2], err[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw LoadError("socketpair: " + std::string(std::strerror(errno)));
    p.socket.reset(sv[0]);
    UniqueFd theirs(sv[1]);
    if (::pipe2(out, O_CLOEXEC) != 0) throw LoadError("pipe: " + std::string(std::strerror(errno)));
    p.out.reset(out[0]);
    UniqueFd outW(out[1]);
    if (::pipe2(err, O_CLOEXEC) != 0) throw LoadError("pipe: " + std::string(std::strerror(errno)));
    p.err.reset(err[0]);
    UniqueFd errW(err[1]);
    for (int fd : {p.socket.get(), p.out.get(), p.err.get()}) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    UniqueFd sock = highCopy(theirs.get()), o = highCopy(outW.get()), e = highCopy(errW.get());

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, o.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, e.get(), 2);
    posix_spawn_file_actions_adddup2(&actions, sock.get(), proto::kSocketFd);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);     // hostd's threads block everything (signalfd)
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);           // its own group: a terminal's ^C is hostd's to drain
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    std::string parent = std::to_string(::getpid());
    std::vector<std::string> env = runnerEnvironment();
    std::vector<char*> envp;
    for (auto& v : env) envp.push_back(v.data());
    envp.push_back(nullptr);
    std::string program = path;
    std::string spareArg = "spare";
    char* argv[] = {program.data(), parent.data(), spare ? spareArg.data() : nullptr, nullptr};
    int rc = ::posix_spawn(&p.pid, path.c_str(), &actions, &attr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) throw LoadError("cannot start " + path + ": " + std::strerror(rc));
    p.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, p.pid, 0)));
    if (!p.pidfd) {
        int e2 = errno;
        ::kill(p.pid, SIGKILL);
        ::waitpid(p.pid, nullptr, 0);
        throw LoadError("pidfd_open: " + std::string(std::strerror(e2)));
    }
    return p;  // the runner's ends of the socket and pipes close here: its exit is then an EOF
}

bool sendWithDescriptor(int socket, const std::string& message, int fd) {
    iovec iov{const_cast<char*>(message.data()), message.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    return ::sendmsg(socket, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(message.size());
}

}  // namespace hostd
