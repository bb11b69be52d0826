#pragma once

#include "LogFormat.h"
#include "TrustedPath.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace hostd {

/// Where the log goes and how it is written: [hostd] log_format and log_target.
struct LogDestination {
    LogFormat format = LogFormat::Text;
    std::string target = "stderr";  ///< "stderr", "syslog", or an absolute file path.

    bool operator==(const LogDestination&) const = default;
    bool isFile() const { return !target.empty() && target.front() == '/'; }
};

bool isValidLogTarget(std::string_view target);
    /// "stderr", "syslog", or an absolute path that does not end in '/'.

bool stderrIsJournal();
    /// True if JOURNAL_STREAM ("DEVICE:INODE", set by systemd for a service whose stderr is
    /// connected to the journal) names what file descriptor 2 is. A child whose stderr was
    /// redirected still inherits the variable: hence the comparison (systemd.exec(5)).

/// The process's log output. Each line is formatted once, then written with one write(2)
/// (or syslog(3)) under a mutex: nothing is buffered, so no line is lost at exit on any
/// path (including the _exit after an abandoned plugin call, and a crash), and during a
/// reopen every line goes to exactly one file. An AsyncChannel would add a queue that has to
/// be drained before every exit (DESIGN.md section 8) for no gain: a write to a file or the
/// journal's pipe costs a few microseconds.
class LogOutput {
public:
    static void open(const LogDestination& destination, const TrustedOwners& owners = TrustedOwners::current());
        /// Switches to destination. stderr is written through a duplicate of fd 2 taken now,
        /// so that what a plugin does to fd 2 later does not reach the log. A file is opened
        /// relative to its directory, which must pass
        /// the trust rules for owners (TrustedPath.h), with O_APPEND|O_NOFOLLOW: created with
        /// mode 0640, or else a regular file of a trusted owner, with one link, not group- or
        /// world-writable. Throws PathRefused, or std::system_error naming the file; the
        /// previous output then stays in use.

    static void reopen();
        /// For a file target: opens the path again (logrotate renamed the file), with the
        /// effective uid's owners, and switches to the new file. Throws as open() does; the
        /// current file then stays in use.

    static LogDestination current();

    static void write(const LogRecord& record);
        /// Formats and writes one line. Thread-safe; never throws; never waits for the
        /// destination (stderr is written non-blocking): a line it does not take is dropped,
        /// counted, and reported before the next line it takes.

    static std::uint64_t droppedLines();
        /// Lines the destination did not take since start.
};

void reopenLogFile();
    /// SIGUSR1: reopens the log file and logs the outcome (in the new file, or, on failure,
    /// in the old one).

}  // namespace hostd
