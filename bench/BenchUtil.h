// Helpers shared by the hot-load benchmark and its floor: latency statistics, markdown tables,
// temporary directories, child processes, and the probe/tiny events file.
#pragma once

#include "TempDir.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace bench {

using Ns = std::int64_t;

Ns monotonicNs();
    /// CLOCK_MONOTONIC in ns: the clock the probe and tiny plugins stamp their events with.

struct Percentiles {
    double p50 = 0;
    double p99 = 0;
    std::size_t count = 0;
};

Percentiles percentiles(std::vector<Ns> samples);
    /// Nearest rank; with fewer than 100 samples p99 is the maximum.

struct Row {
    std::string measure;
    Percentiles value;  // ns
    const Percentiles* floor = nullptr;  // the row this one is a ratio of; null for the floor itself
};

void printTable(const std::string& title, const std::vector<Row>& rows);
    /// Columns measure | p50 | p99 | x floor; "x floor" is the p99 ratio (the goal), the p50
    /// ratio follows in parentheses.

bool printGoal(const std::string& goal, bool met, const std::string& detail);
    /// Prints "goal: GOAL: met|MISSED (DETAIL)"; returns met.
bool printRatioGoal(const std::string& goal, double ratio, double limit);
    /// printGoal for "ratio <= limit", with the ratio as the detail.

using hostd::test::TempDir;

/// A child process (hostd or the floor, spawned the same way so that neither pays more to
/// start) with stdout and stderr appended to a log file and an empty signal mask. Killed
/// (SIGKILL) and reaped on destruction if still running, so an aborted run never leaks one.
class Child {
public:
    Child(const std::vector<std::string>& argv, const std::string& logPath);
    ~Child();
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    pid_t pid() const noexcept { return _pid; }
    bool stop(int sig, std::chrono::milliseconds timeout);
        /// Sends sig and reaps the child; false if it was still running after timeout (it is
        /// then killed by the destructor).

private:
    pid_t _pid = -1;
    bool _reaped = false;
};

/// The "start NAME NS PID" lines the probe and tiny plugins append at callback entry. Reads
/// incrementally, so polling a file of thousands of lines stays cheap.
class EventLog {
public:
    explicit EventLog(std::string path) : _path(std::move(path)) {}

    void poll();
        /// Reads what was appended since the last poll.
    std::optional<Ns> waitStart(const std::string& name, std::chrono::milliseconds timeout);
        /// The start event of NAME, polling every ms until it appears or timeout.
    bool waitStop(const std::string& name, std::chrono::milliseconds timeout);
        /// Whether a stop event of NAME appears within timeout.
    std::size_t startCount() const { return _starts.size(); }
    Ns lastStart() const;
        /// The latest start timestamp seen; 0 if none.

private:
    std::string _path;
    off_t _offset = 0;
    std::string _partial;  // a line whose newline is not written yet
    std::map<std::string, Ns> _starts;
    std::map<std::string, Ns> _stops;
};

Ns spawnAndRoundTrip();
    /// What an isolated plugin costs at least beyond its load: posix_spawn of a trivial process
    /// (/bin/true, reaped) plus one round trip on a SOCK_SEQPACKET socketpair. The isolation
    /// floor is the in-process load plus this.

std::string readFile(const std::string& path);
void writeFile(const std::string& path, const std::string& data);
    /// open(O_CREAT|O_TRUNC) / write / close, the way cp writes in place. Throws on error.
bool waitForText(const std::string& path, const std::string& text, std::chrono::milliseconds timeout);

}  // namespace bench
