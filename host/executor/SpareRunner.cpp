// The spare runner a load takes: see ProcessExecutor.h.
#include "Log.h"
#include "RunnerProcess.h"
#include "RunnerState.h"

#include <poll.h>
#include <utility>

namespace hostd {

using runnerstate::Runner;
using runnerstate::killAndReap;

std::shared_ptr<Runner> ProcessExecutor::newRunner(bool spare) {
    auto r = std::make_shared<Runner>();
    RunnerProcess process = startRunner(_runnerPath, spare);
    r->pid = process.pid;
    r->pidfd = std::move(process.pidfd);
    r->socket = std::move(process.socket);
    r->out = std::move(process.out);
    r->err = std::move(process.err);
    return r;
}

std::shared_ptr<Runner> ProcessExecutor::takeSpare() {
    auto spare = std::exchange(_spare, nullptr);
    pollfd gone{spare ? spare->pidfd.get() : -1, POLLIN, 0};
    if (spare && ::poll(&gone, 1, 0) == 0) return spare;
    if (spare) ended(*spare);  // ended while it waited (killed from outside): reaped, not used
    return newRunner();
}

void ProcessExecutor::startSpare() {
    _spareWanted = false;
    if (_spare || _runners.empty() || _stopping) return;
    try {
        _spare = newRunner(true);  // not watched: its Hello waits in its socket until it is used
    } catch (const LoadError& e) {
        HOSTD_LOG(Warning, "", "no spare runner for the next isolated load", {"error", e.what()});
    }
}

void ProcessExecutor::dropSpare() {
    auto spare = std::exchange(_spare, nullptr);
    if (!spare || !spare->alive) return;
    killAndReap(*spare);
    spare->alive = false;
}

}  // namespace hostd
