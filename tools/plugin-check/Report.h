#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace hostd::check {

/// Outcome of one check. Only Fail makes hostd-plugin-check exit non-zero (Warn too with
/// --strict).
enum class Status { Pass, Warn, Fail, Skip };

std::string_view statusName(Status status);
    /// "pass", "warn", "fail" or "skip": the words of the table and of --json.

/// One row of the report.
struct Check {
    std::string id;                       ///< Stable identifier, e.g. "gnu-unique"; CI greps for it.
    Status status = Status::Skip;
    std::string reason = "not run";       ///< Why: what was observed, and what to do about it.
    std::optional<double> milliseconds;   ///< Time taken, for checks that call into the plugin.
    bool done = false;                    ///< False until a result was recorded.
};

/// A line the plugin logged through the host services during the dynamic checks.
struct LogLine {
    std::string level;
    std::string text;
};

/// Every check, in a fixed order, with its result; printed as a table or as JSON.
class Report {
public:
    explicit Report(std::string file);
        /// All checks start as "skip: not run", so a check never reached still appears.

    void set(std::string_view id, Status status, std::string reason, std::optional<double> ms = std::nullopt);
        /// Records the result of check id (one of kCheckIds; anything else is a programming error
        /// and throws std::logic_error).

    bool done(std::string_view id) const;
        /// True once check id has a result.

    void skipPending(const std::string& reason);
        /// Gives every check without a result this reason (status skip).

    void addLog(LogLine line) { _log.push_back(std::move(line)); }

    bool failed(bool strict) const;
        /// True if a check failed (or, when strict, warned).

    void printText(std::ostream& out) const;
    void printJson(std::ostream& out) const;

    const std::vector<Check>& checks() const noexcept { return _checks; }

private:
    Check& find(std::string_view id);

    std::string _file;
    std::vector<Check> _checks;
    std::vector<LogLine> _log;
};

std::string jsonString(std::string_view text);
    /// text as a JSON string literal: quoted, escaped, invalid UTF-8 replaced by U+FFFD.

}  // namespace hostd::check
