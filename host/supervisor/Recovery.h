#pragma once

#include "Lifecycle.h"
#include "Plugin.h"

#include <string>

namespace hostd {

class Scheduler;

/// What happens when plugins fail, for the Scheduler that owns it: calls past their deadline
/// (abandoned, never unloaded), failures counted against restart_burst within
/// restart_interval (restart with a growing, jittered backoff, or quarantine), quarantines and
/// their lifting, failures a plugin reports itself, and the drain's budget running out.
class Recovery {
public:
    explicit Recovery(Scheduler& scheduler) : _scheduler(scheduler) {}

    void noteFailure(Plugin& p, const std::string& error);
        /// A failed start or a reported failure: restart with backoff, or quarantine after
        /// restart_burst failures within restart_interval (unless restart = no).
    void quarantine(Plugin& p, LifecycleEvent event, const std::string& why);
    void releaseQuarantine(Plugin& p, const std::string& why);
        /// Forgets its failures and crashes; a plugin without loaded code has its file read again.
    void reportedFailure(const FailureReport& report);
        /// hostd_cb_report_failure, or an isolated plugin's runner ended: a running plugin
        /// stops (its dependents first), then counts as failed.
    void checkDeadlines(Clock::time_point now);
        /// Abandons overrun calls, restarts plugins whose backoff is over, and in the drain
        /// abandons what the budget no longer covers.

private:
    Scheduler& _scheduler;
};

}  // namespace hostd
