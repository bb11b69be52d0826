#pragma once

#include "Report.h"

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace hostd::check {

/// The child's end of the pipe to the parent. Everything the child learns is sent at once, line
/// by line, so the parent keeps it all even if the plugin crashes the child a moment later.
/// Thread-safe: plugin threads log through it too.
class ChildChannel {
public:
    explicit ChildChannel(int fd) noexcept : _fd(fd) {}

    void phase(std::string_view checkId, std::chrono::milliseconds budget);
        /// Announces that check checkId begins and may take budget; the parent kills the child
        /// when it overruns, and blames a crash on this check.

    void result(std::string_view checkId, Status status, const std::string& reason,
                std::optional<double> ms = std::nullopt);

    void log(std::string_view level, std::string_view text);

    int fd() const noexcept { return _fd; }

private:
    void send(std::initializer_list<std::string_view> fields);

    int _fd;
    std::mutex _mutex;
};

/// Runs body in a forked child and records what it reports in report. A crash, a timeout or an
/// unexpected exit is recorded as a failure of the check that was running (the last phase).
/// The child's stdout goes to stderr (so --json output stays clean), its stdin is /dev/null.
void runInChild(const std::function<void(ChildChannel&)>& body, Report& report);

}  // namespace hostd::check
