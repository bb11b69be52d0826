#include "Child.h"

#include "UniqueFd.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

namespace hostd::check {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// How long before its first phase the child may run, and how much longer than its announced
/// budget a phase may take before the child is killed: enough for the child to measure an
/// overrun itself and report it precisely.
constexpr milliseconds kStartupBudget{10000};
constexpr milliseconds kGrace{1000};

/// Lines are written with one write() of at most PIPE_BUF bytes, so lines from several plugin
/// threads never interleave.
constexpr std::size_t kMaxLine = PIPE_BUF;

void appendEscaped(std::string& out, std::string_view field) {
    for (char c : field) {
        if (c == '\\') out += "\\\\";
        else if (c == '\t') out += "\\t";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
}

std::vector<std::string> splitFields(std::string_view line) {
    std::vector<std::string> fields(1);
    for (std::size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (c == '\t') {
            fields.emplace_back();
        } else if (c == '\\' && i + 1 < line.size()) {
            char n = line[++i];
            fields.back() += n == 't' ? '\t' : n == 'n' ? '\n' : n;
        } else {
            fields.back() += c;
        }
    }
    return fields;
}

std::optional<Status> parseStatus(std::string_view s) {
    for (Status st : {Status::Pass, Status::Warn, Status::Fail, Status::Skip})
        if (statusName(st) == s) return st;
    return std::nullopt;
}

std::string describeSignal(int sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    return "signal " + std::to_string(sig) + " (SIG" + (abbrev != nullptr ? abbrev : "?") + ", " + ::strsignal(sig) + ")";
}

/// The channel of this (child) process, for the sanitizer's death callback, which has no argument.
ChildChannel* gChannel = nullptr;

/// Makes a crash end the child by its signal, so the parent can name it. A sanitizer runtime
/// (this tool built with HOSTD_SANITIZE) would otherwise turn SIGSEGV into a report and exit(1),
/// which looks like a plugin calling exit(); its own error reports are announced as such.
void reportCrashesAsSignals() {
    for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE}) ::signal(sig, SIG_DFL);
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_set_death_callback(+[] {
        if (gChannel != nullptr) gChannel->log("fatal", "a sanitizer reported an error in the plugin (its report is on stderr)");
    });
#endif
}

[[noreturn]] void childMain(int writeFd, const std::function<void(ChildChannel&)>& body) {
    if (UniqueFd devNull(::open("/dev/null", O_RDONLY | O_CLOEXEC)); devNull) ::dup2(devNull.get(), STDIN_FILENO);
    ::dup2(STDERR_FILENO, STDOUT_FILENO);
    ChildChannel channel(writeFd);
    gChannel = &channel;
    reportCrashesAsSignals();
    int code = 0;
    try {
        body(channel);
        channel.log("done", "");
    } catch (const std::exception& e) {
        channel.log("fatal", std::string("hostd-plugin-check failed: ") + e.what());
        code = 70;
    }
    // _exit: no atexit handlers or static destructors of the tool run in the child, and the
    // plugin's cannot run twice.
    ::_exit(code);
}

/// The parent's view of the child: the last phase it announced and when that phase must end.
struct Watch {
    std::string phase;
    Clock::time_point deadline = Clock::now() + kStartupBudget;
    milliseconds budget = kStartupBudget;
    bool finished = false;
    std::string fatal;          ///< Why the child is about to die, when it knows (not a crash).
};

void handleLine(const std::string& line, Watch& watch, Report& report) {
    std::vector<std::string> f = splitFields(line);
    if (f[0] == "phase" && f.size() == 3) {
        watch.phase = f[1];
        watch.budget = milliseconds(std::stoll(f[2]));
        watch.deadline = Clock::now() + watch.budget + kGrace;
    } else if (f[0] == "check" && f.size() == 5) {
        std::optional<double> ms;
        if (!f[3].empty()) ms = std::stod(f[3]);
        report.set(f[1], parseStatus(f[2]).value_or(Status::Fail), f[4], ms);
    } else if (f[0] == "log" && f.size() == 3) {
        if (f[1] == "done") watch.finished = true;
        else if (f[1] == "fatal") watch.fatal = f[2];
        else report.addLog({f[1], f[2]});
    }
}

/// Reads the child's lines until EOF or the current phase's deadline. Returns false on timeout.
bool readUntilEof(int fd, Watch& watch, Report& report) {
    std::string pending;
    char buf[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<milliseconds>(watch.deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;  // timeout: the loop re-checks the deadline
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return true;
        pending.append(buf, static_cast<std::size_t>(n));
        for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
            handleLine(pending.substr(0, nl), watch, report);
            pending.erase(0, nl + 1);
        }
    }
}

/// Waits for the child to exit until deadline; kills it after. Returns the waitpid status.
int reap(pid_t pid, Clock::time_point deadline, bool& killed) {
    int status = 0;
    for (;;) {
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) return status;
        if (Clock::now() >= deadline && !killed) {
            ::kill(pid, SIGKILL);
            killed = true;
        }
        ::usleep(2000);
    }
}

void recordOutcome(const Watch& watch, bool timedOut, int status, Report& report) {
    std::string phase = watch.phase.empty() ? "load" : watch.phase;
    std::string what, brief;
    if (timedOut) {
        what = "did not finish within " + std::to_string(watch.budget.count()) + " ms (the check process was killed " +
               std::to_string(kGrace.count()) + " ms later); hostd would abandon the plugin and never unload it";
        brief = phase + " timed out";
    } else if (WIFSIGNALED(status)) {
        what = "crashed: " + describeSignal(WTERMSIG(status)) + ", in the callback or in a plugin thread";
        brief = "crash during " + phase;
    } else if (!watch.fatal.empty()) {
        what = watch.fatal;
        brief = "fatal error during " + phase;
    } else if (!watch.finished) {
        what = "the process exited with code " + std::to_string(WEXITSTATUS(status)) + ": a plugin must never call exit()";
        brief = "exit() during " + phase;
    } else {
        return;
    }
    report.set(phase, Status::Fail, what);
    report.skipPending("not reached (" + brief + ")");
}

}  // namespace

void ChildChannel::send(std::initializer_list<std::string_view> fields) {
    std::string line;
    for (std::string_view f : fields) {
        if (!line.empty()) line += '\t';
        appendEscaped(line, f);
    }
    if (line.size() > kMaxLine - 1) {
        line.resize(kMaxLine - 4);
        while (!line.empty() && line.back() == '\\') line.pop_back();  // never cut an escape in half
        line += "...";
    }
    line += '\n';
    std::lock_guard lock(_mutex);
    for (std::size_t off = 0; off < line.size();) {
        ssize_t n = ::write(_fd, line.data() + off, line.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // the parent is gone; nothing useful left to do
        off += static_cast<std::size_t>(n);
    }
}

void ChildChannel::phase(std::string_view checkId, milliseconds budget) {
    send({"phase", checkId, std::to_string(budget.count())});
}

void ChildChannel::result(std::string_view checkId, Status status, const std::string& reason, std::optional<double> ms) {
    send({"check", checkId, statusName(status), ms ? std::to_string(*ms) : std::string(), reason});
}

void ChildChannel::log(std::string_view level, std::string_view text) { send({"log", level, text}); }

void runInChild(const std::function<void(ChildChannel&)>& body, Report& report) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    UniqueFd readEnd(fds[0]), writeEnd(fds[1]);
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        readEnd.reset();
        childMain(writeEnd.release(), body);
    }
    writeEnd.reset();
    Watch watch;
    bool timedOut = !readUntilEof(readEnd.get(), watch, report);
    bool killed = false;
    if (timedOut) {
        ::kill(pid, SIGKILL);
        killed = true;
    }
    int status = reap(pid, std::max(watch.deadline, Clock::now() + kGrace), killed);
    recordOutcome(watch, timedOut || (killed && !watch.finished), status, report);
}

}  // namespace hostd::check
