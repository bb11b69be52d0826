#include "LogOutput.h"

#include "ExitCode.h"
#include "StartupError.h"
#include "UniqueFd.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <mutex>
#include <pthread.h>
#include <sys/stat.h>
#include <syslog.h>
#include <system_error>
#include <unistd.h>

namespace hostd {

namespace {

enum class Sink { Stderr, File, Syslog };

/// The output. Writers read format and sink without the lock to format outside it; a line
/// formatted just before a switch is written in the previous format, which is harmless.
struct Output {
    std::mutex mutex;  // guards destination, file and the write itself
    LogDestination destination;
    UniqueFd file;
    std::atomic<LogFormat> format{LogFormat::Text};
    std::atomic<Sink> sink{Sink::Stderr};
    std::uint64_t dropped = 0;  // lines the destination did not take since the last one it did
};

std::atomic<std::uint64_t> gDroppedTotal{0};

Output& output() {
    // Never destroyed: a plugin thread abandoned past its deadline may still log while the
    // process leaves through exit().
    static Output* out = new Output;
    return *out;
}

/// Writes data; false if the destination did not take all of it (full pipe nobody reads, full
/// disk, closed stderr): the rest is dropped, never waited for.
bool writeAll(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

/// Says, before the next line, how many the destination did not take. Under the output's lock.
void reportDropped(int fd, std::uint64_t& dropped, LogFormat format) {
    if (dropped == 0) return;
    std::string count = std::to_string(dropped);
    LogField field{"dropped", count};
    LogRecord record{nowEpochMicros(), Level::Warning, {}, "log lines dropped: the log destination did not take them",
                     {&field, 1}, nullptr, 0};
    std::string line;
    formatLogLine(line, format, record);
    if (writeAll(fd, line)) dropped = 0;
}

UniqueFd openLogFile(const std::string& path, const TrustedOwners& owners) {
    // hostd opens its log as root: a link planted in a log directory must not make it append
    // to another file, nor a directory others can write to let them swap the file.
    try {
        UniqueFd dir = TrustedPath::openDirectory(TrustedPath::split(path).dir, owners);
        bool created = false;
        return TrustedPath::openOrCreate(dir.get(), path, O_WRONLY | O_APPEND, 0640, owners, created);
    } catch (const PathRefused& e) {
        throw PathRefused(e.path(), e.rule() + (e.path() == path ? "" : " (the directory of log file " + path + ")"));
    } catch (const std::system_error& e) {
        throw std::system_error(e.code(), "cannot open log file " + path);
    }
}

int syslogPriority(Level level) { return static_cast<int>(level); }  // Level values are the priorities

}  // namespace

bool isValidLogTarget(std::string_view target) {
    if (target == "stderr" || target == "syslog") return true;
    return target.size() > 1 && target.front() == '/' && target.back() != '/' &&
           target.find('\0') == std::string_view::npos;
}

bool stderrIsJournal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr) return false;
    unsigned long long device = 0, inode = 0;
    if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
    struct stat st {};
    if (::fstat(STDERR_FILENO, &st) != 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == device && static_cast<unsigned long long>(st.st_ino) == inode;
}

void LogOutput::open(const LogDestination& destination, const TrustedOwners& owners) {
    UniqueFd file;
    if (destination.isFile())
        file = openLogFile(destination.target, owners);
    else if (destination.target == "stderr")
        // hostd's own duplicate: a plugin that dup2s over fd 2 (or closes it) cannot take the log.
        file.reset(::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3));
    // Never blocking: a pipe nobody reads costs dropped lines (counted, then reported), not a
    // stalled loop or drain.
    if (file && !destination.isFile()) ::fcntl(file.get(), F_SETFL, ::fcntl(file.get(), F_GETFL) | O_NONBLOCK);
    Sink sink = destination.isFile() ? Sink::File : destination.target == "syslog" ? Sink::Syslog : Sink::Stderr;
    Output& out = output();
    std::lock_guard<std::mutex> lock(out.mutex);
    if (sink == Sink::Syslog && out.sink != Sink::Syslog)
        ::openlog("hostd", LOG_PID | LOG_NDELAY, LOG_DAEMON);  // NDELAY: connect before privileges drop
    else if (sink != Sink::Syslog && out.sink == Sink::Syslog)
        ::closelog();
    out.destination = destination;
    std::swap(out.file, file);  // the old file is closed after the lock is released
    out.format = destination.format;
    out.sink = sink;
}

void LogOutput::reopen() {
    Output& out = output();
    std::string path;
    {
        std::lock_guard<std::mutex> lock(out.mutex);
        if (!out.destination.isFile()) return;
        path = out.destination.target;
    }
    UniqueFd file = openLogFile(path, TrustedOwners::current());
    std::lock_guard<std::mutex> lock(out.mutex);
    if (out.destination.target == path) std::swap(out.file, file);
}

LogDestination LogOutput::current() {
    Output& out = output();
    std::lock_guard<std::mutex> lock(out.mutex);
    return out.destination;
}

namespace {

/// One buffer per thread, reused: formatting a line allocates nothing once it has grown. Under a
/// pthread key, not in a thread_local object: registering such an object's destructor takes
/// glibc's loader lock (__cxa_thread_atexit_impl), which a plugin whose load hung holds for good,
/// and the thread that runs the loop on after it (LoadWatch.h) must still be able to log.
std::string& threadLine() {
    static const pthread_key_t key = [] {
        pthread_key_t k{};
        if (::pthread_key_create(&k, [](void* line) { delete static_cast<std::string*>(line); }) != 0) std::abort();
        return k;
    }();
    auto* line = static_cast<std::string*>(::pthread_getspecific(key));
    if (line == nullptr) {
        line = new std::string;
        ::pthread_setspecific(key, line);
    }
    return *line;
}

}  // namespace

void LogOutput::write(const LogRecord& record) {
    Output& out = output();
    Sink sink = out.sink.load(std::memory_order_relaxed);
    LogFormat format = out.format.load(std::memory_order_relaxed);
    std::string& line = threadLine();
    line.clear();
    if (sink == Sink::Syslog)  // syslog carries time and priority itself
        formatLogLine(line, format == LogFormat::Journal ? LogFormat::Text : format, record, false);
    else
        formatLogLine(line, format, record);
    {
        std::lock_guard<std::mutex> lock(out.mutex);
        if (out.sink == Sink::Syslog)
            ::syslog(syslogPriority(record.level), "%.*s", static_cast<int>(line.size() - 1), line.data());
        else {
            int fd = out.file ? out.file.get() : STDERR_FILENO;
            reportDropped(fd, out.dropped, format);
            bool written = false;
            if (out.dropped == 0) {
                written = writeAll(fd, line);
                if (!written && errno == EBADF && fd != STDERR_FILENO)  // a plugin closed it: fd 2 is still there
                    written = writeAll(STDERR_FILENO, line);
            }
            if (!written) {  // behind unreported drops: dropped too, in order
                ++out.dropped;
                gDroppedTotal.fetch_add(1, std::memory_order_relaxed);
            }
        }
    }
    if (line.capacity() > 65536) std::string().swap(line);  // after a huge plugin message
}

void reopenLogFile() {
    LogDestination d = LogOutput::current();
    if (!d.isFile()) {
        HOSTD_LOG(Info, "", "SIGUSR1: no log file to reopen", {"target", d.target});
        return;
    }
    try {
        LogOutput::reopen();
    } catch (const std::exception& e) {  // PathRefused, std::system_error
        HOSTD_LOG(Error, "", "cannot reopen the log file; still writing to the previous one", {"path", d.target},
                  {"error", e.what()});
        return;
    }
    HOSTD_LOG(Notice, "", "log file reopened", {"path", d.target}, {"signal", "SIGUSR1"});
}

std::uint64_t LogOutput::droppedLines() { return gDroppedTotal.load(std::memory_order_relaxed); }

}  // namespace hostd
