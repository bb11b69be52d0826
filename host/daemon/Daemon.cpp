#include "Daemon.h"

#include "ExitCode.h"
#include "StartupError.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <iostream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

namespace hostd {

namespace {

// The pipe carries one record: a single 0 byte for "ready", or an exit code byte (1-255)
// followed by the message up to end of file.
constexpr char kReady = 0;

void writeAll(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // the invoker is gone (killed): nobody is left to tell
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

/// In a child that has not become the daemon yet: reports the failure and leaves without
/// running anything of the parent's (atexit handlers, static destructors, stdio buffers).
[[noreturn]] void abandon(int pipe, std::string_view what) {
    std::string record(1, static_cast<char>(kExitOsError));
    record += systemErrorText(what, errno);
    writeAll(pipe, record);
    ::_exit(kExitOsError);
}

/// The invoking process: waits for the daemon's record and turns it into an exit code.
int awaitReport(UniqueFd pipe) {
    // Blocked signals would make Ctrl-C do nothing while the daemon starts. The daemon has
    // its own session now; interrupting the invoker leaves it running.
    sigset_t none;
    sigemptyset(&none);
    ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
    std::string record;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(pipe.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        record.append(buf, static_cast<std::size_t>(n));
        // "ready" is complete at its first byte; do not wait for end of file, which a plugin's
        // forked child holding a copy of the descriptor could delay forever.
        if (record.front() == kReady) return kExitOk;
    }
    if (record.empty()) {
        std::cerr << "hostd: the daemon exited before it was ready (see its log)\n";
        return kExitSoftware;
    }
    std::cerr << record.substr(1) << "\n";
    return static_cast<unsigned char>(record.front());
}

/// The daemon: the process state every daemon starts from.
void becomeDaemonProcess(UniqueFd& pipe) {
    // First move the pipe above the standard descriptors: if the invoker ran with one of them
    // closed, pipe2() may have returned it.
    UniqueFd moved(::fcntl(pipe.get(), F_DUPFD_CLOEXEC, 3));
    if (!moved) abandon(pipe.get(), "fcntl(F_DUPFD_CLOEXEC)");
    pipe = std::move(moved);
    ::umask(027);
    if (::chdir("/") != 0) abandon(pipe.get(), "chdir /");
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull < 0) abandon(pipe.get(), "open /dev/null");
    for (int fd = 0; fd <= 2; ++fd)
        if (::dup2(devnull, fd) < 0) abandon(pipe.get(), "dup2 /dev/null");
    if (devnull > 2) ::close(devnull);
    // Keep the pipe at 3 and close everything above: descriptors the invoker inherited
    // (a terminal, a socket of the init script) must not be held for the daemon's life.
    if (pipe.get() != 3) {
        if (::dup3(pipe.get(), 3, O_CLOEXEC) < 0) abandon(pipe.get(), "dup3");
        pipe.reset(3);
    }
    if (::close_range(4, ~0U, 0) != 0) abandon(pipe.get(), "close_range");
}

}  // namespace

int StartupReport::failed(int exitCode, std::string_view message) {
    if (_done) return exitCode;
    _done = true;
    if (_pipe) {
        std::string record(1, static_cast<char>(exitCode > 0 && exitCode < 256 ? exitCode : kExitSoftware));
        record += message;
        writeAll(_pipe.get(), record);
        _pipe.reset();
    }
    return exitCode;
}

void StartupReport::ready() {
    if (_done) return;
    _done = true;
    if (_pipe) writeAll(_pipe.get(), std::string_view(&kReady, 1));
    _pipe.reset();
}

Daemon Daemon::detach() {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    UniqueFd readEnd(ends[0]), writeEnd(ends[1]);
    // Anything buffered would otherwise be written once per process.
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
    pid_t child = ::fork();
    if (child < 0) throw std::system_error(errno, std::generic_category(), "fork");
    Daemon result;
    if (child > 0) {
        writeEnd.reset();
        int status = 0;
        while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
        }
        result._invokerExitCode = awaitReport(std::move(readEnd));
        return result;
    }
    readEnd.reset();
    if (::setsid() < 0) abandon(writeEnd.get(), "setsid");
    pid_t daemon = ::fork();
    if (daemon < 0) abandon(writeEnd.get(), "fork");
    if (daemon > 0) ::_exit(kExitOk);  // the session leader leaves; the daemon is orphaned to init
    becomeDaemonProcess(writeEnd);
    result._report = StartupReport(std::move(writeEnd));
    return result;
}

}  // namespace hostd
